package main

// What this daprd can load: the actor state stores push-pop runs on (see components/ at the
// root of the repository) and a name resolver that works on one machine. Anything else dapr
// offers (pub/sub, bindings, secret stores, middleware, the mDNS resolver whose multicast would
// leave loopback) is left out, which keeps the dependency set and the binary small.

import (
	nrsqlite "github.com/dapr/components-contrib/nameresolution/sqlite"
	inmemory "github.com/dapr/components-contrib/state/in-memory"
	pgv1 "github.com/dapr/components-contrib/state/postgresql/v1"
	pgv2 "github.com/dapr/components-contrib/state/postgresql/v2"
	"github.com/dapr/components-contrib/state/redis"
	"github.com/dapr/components-contrib/state/sqlite"
	"github.com/dapr/dapr/pkg/components"
	"github.com/dapr/dapr/pkg/components/nameresolution"
	"github.com/dapr/dapr/pkg/components/state"
)

func init() {
	stores := state.DefaultRegistry
	stores.RegisterComponent(inmemory.NewInMemoryStateStore, "in-memory")
	stores.RegisterComponent(sqlite.NewSQLiteStateStore, "sqlite", "sqlite3")
	stores.RegisterComponent(redis.NewRedisStateStore, "redis")

	// PostgreSQL comes in two implementations. A component without `version:` (or with v1) gets
	// v1, `version: v2` the newer one; both type names are accepted.
	postgres := components.Versioning{
		Default:   "v1",
		Preferred: components.VersionConstructor{Version: "v2", Constructor: pgv2.NewPostgreSQLStateStore},
		Others:    []components.VersionConstructor{{Version: "v1", Constructor: pgv1.NewPostgreSQLStateStore}},
	}
	for _, name := range []string{"postgresql", "postgres"} {
		stores.RegisterComponentWithVersions(name, postgres)
	}

	// Service invocation between sidecars looks app ids up in a SQLite file shared by one stack.
	// Actor calls do not use it: placement hands out host:port addresses directly.
	nameresolution.DefaultRegistry.RegisterComponent(nrsqlite.NewResolver, "sqlite")
}
