// Command daprd is the Dapr sidecar as push-pop builds it: dapr's own entry point
// (package github.com/dapr/dapr/cmd/daprd/app) with only the components registered in
// components.go.
//
// The app package imports github.com/dapr/dapr/cmd/daprd/components, dapr's registry of every
// component it ships, gated behind the allcomponents/stablecomponents build tags (and a file that
// panics at start-up when neither tag is set). build.py compiles this command with
// `go build -overlay` so that package is empty: no tags, no stock components, no panic. Built
// without that overlay, this binary panics on start; use build.py.
package main

import "github.com/dapr/dapr/cmd/daprd/app"

func main() {
	app.Run()
}
