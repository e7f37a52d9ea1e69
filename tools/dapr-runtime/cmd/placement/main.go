/*
Copyright 2023 The Dapr Authors
Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at
    http://www.apache.org/licenses/LICENSE-2.0
Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

// Placement for push-pop: a copy of github.com/dapr/dapr v1.18.3 cmd/placement/app/app.go
// (Apache-2.0) whose only change is the healthz server: dapr's listens on every interface and
// ignores --healthz-listen-address; ours (healthz.go) honours it, so a local stack stays on
// loopback.
package main

import (
	"context"
	"encoding/json"
	"os"

	"github.com/dapr/dapr/cmd/placement/options"
	"github.com/dapr/dapr/pkg/buildinfo"
	"github.com/dapr/dapr/pkg/healthz"
	"github.com/dapr/dapr/pkg/metrics"
	"github.com/dapr/dapr/pkg/modes"
	"github.com/dapr/dapr/pkg/placement"
	"github.com/dapr/dapr/pkg/placement/monitoring"
	"github.com/dapr/dapr/pkg/security"
	"github.com/dapr/kit/concurrency"
	"github.com/dapr/kit/logger"
	"github.com/dapr/kit/signals"
)

var log = logger.NewLogger("dapr.placement")

func main() {
	opts, err := options.New(os.Args[1:])
	if err != nil {
		log.Fatal(err)
	}

	// Apply options to all loggers.
	if e := logger.ApplyOptionsToLoggers(&opts.Logger); e != nil {
		log.Fatal(e)
	}

	log.Infof("Starting Dapr Placement Service -- version %s -- commit %s", buildinfo.Version(), buildinfo.Commit())
	log.Infof("Log level set to: %s", opts.Logger.OutputLevel)

	healthz := healthz.New()
	metricsExporter := metrics.New(metrics.Options{
		Log:           log,
		Enabled:       opts.Metrics.Enabled(),
		Namespace:     metrics.DefaultMetricNamespace,
		Port:          opts.Metrics.Port(),
		Healthz:       healthz,
		ListenAddress: opts.PlacementListenAddress,
	})

	if e := monitoring.InitMetrics(); e != nil {
		log.Fatal(e)
	}

	ctx := signals.Context()
	secProvider, err := security.New(ctx, security.Options{
		SentryAddress:           opts.SentryAddress,
		ControlPlaneTrustDomain: opts.TrustDomain,
		ControlPlaneNamespace:   security.CurrentNamespace(),
		TrustAnchorsFile:        &opts.TrustAnchorsFile,
		AppID:                   "dapr-placement",
		MTLSEnabled:             opts.TLSEnabled,
		Mode:                    modes.DaprMode(opts.Mode),
		Healthz:                 healthz,
	})
	if err != nil {
		log.Fatal(err)
	}

	var place *placement.Placement
	var handlers []healthzHandler
	placeReady := make(chan struct{})
	if opts.MetadataEnabled {
		handlers = []healthzHandler{
			{
				Path: "/placement/state",
				Getter: func(ctx context.Context) ([]byte, error) {
					select {
					case <-ctx.Done():
						return nil, ctx.Err()
					case <-placeReady:

						tables, terr := place.StatePlacementTables(ctx)
						if err != nil {
							return nil, terr
						}

						return json.Marshal(tables)
					}
				},
			},
		}
	}

	healthSrv := newHealthzServer(healthzOptions{
		ListenAddress: opts.HealthzListenAddress,
		Log:           log,
		Port:          opts.HealthzPort,
		Healthz:       healthz,
		Handlers:      handlers,
	})

	err = concurrency.NewRunnerManager(
		metricsExporter.Start,
		healthSrv.Start,
		secProvider.Run,
		func(ctx context.Context) error {
			secHandler, serr := secProvider.Handler(ctx)
			if serr != nil {
				return serr
			}

			place, serr = placement.New(placement.Options{
				NodeID:                    opts.RaftID,
				Port:                      opts.PlacementPort,
				ListenAddress:             opts.PlacementListenAddress,
				Security:                  secHandler,
				Healthz:                   healthz,
				KeepAliveTime:             opts.KeepAliveTime,
				KeepAliveTimeout:          opts.KeepAliveTimeout,
				ReplicationFactor:         int64(opts.ReplicationFactor),
				Peers:                     opts.RaftPeers,
				DisseminateTimeout:        opts.DisseminateTimeout,
				DisseminateCoalesceWindow: opts.DisseminateCoalesceWindow,
			})
			if serr != nil {
				return serr
			}

			close(placeReady)
			return place.Run(ctx)
		},
	).Run(ctx)
	if err != nil {
		log.Fatal(err)
	}

	log.Info("Placement service shut down gracefully")
}
