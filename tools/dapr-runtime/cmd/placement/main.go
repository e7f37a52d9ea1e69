// Command placement is the Dapr placement service as push-pop builds it, assembled from dapr's
// packages (flags, security, metrics, the placement server itself). It differs from dapr's
// cmd/placement in one place: the health endpoint listens on --healthz-listen-address, which
// stock placement 1.18.3 parses but ignores, binding every interface instead. Local stacks must
// stay on loopback.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"time"

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
	if err := run(); err != nil {
		log.Fatal(err)
	}
	log.Info("Placement service stopped")
}

func run() error {
	opts, err := options.New(os.Args[1:]) // exits on a bad flag
	if err != nil {
		return err
	}
	if err = logger.ApplyOptionsToLoggers(&opts.Logger); err != nil {
		return err
	}
	log.Infof("Starting Dapr Placement Service -- version %s -- commit %s (push-pop build)",
		buildinfo.Version(), buildinfo.Commit())

	health := healthz.New() // ready once every part below has reported ready
	exporter := metrics.New(metrics.Options{
		Log:           log,
		Enabled:       opts.Metrics.Enabled(),
		Namespace:     metrics.DefaultMetricNamespace,
		Port:          opts.Metrics.Port(),
		ListenAddress: opts.Metrics.ListenAddress(),
		Healthz:       health,
	})
	if err = monitoring.InitMetrics(); err != nil {
		return err
	}

	ctx := signals.Context() // cancelled on SIGINT/SIGTERM
	sec, err := security.New(ctx, security.Options{
		SentryAddress:           opts.SentryAddress,
		ControlPlaneTrustDomain: opts.TrustDomain,
		ControlPlaneNamespace:   security.CurrentNamespace(),
		TrustAnchorsFile:        &opts.TrustAnchorsFile,
		AppID:                   "dapr-placement",
		MTLSEnabled:             opts.TLSEnabled,
		Mode:                    modes.DaprMode(opts.Mode),
		Healthz:                 health,
	})
	if err != nil {
		return err
	}

	var running atomic.Pointer[placement.Placement] // for /placement/state
	servePlacement := func(ctx context.Context) error {
		handler, err := sec.Handler(ctx) // waits for the security provider
		if err != nil {
			return err
		}
		p, err := placement.New(placement.Options{
			NodeID:                    opts.RaftID,
			Peers:                     opts.RaftPeers,
			Port:                      opts.PlacementPort,
			ListenAddress:             opts.PlacementListenAddress,
			Security:                  handler,
			Healthz:                   health,
			KeepAliveTime:             opts.KeepAliveTime,
			KeepAliveTimeout:          opts.KeepAliveTimeout,
			ReplicationFactor:         int64(opts.ReplicationFactor),
			DisseminateTimeout:        opts.DisseminateTimeout,
			DisseminateCoalesceWindow: opts.DisseminateCoalesceWindow,
		})
		if err != nil {
			return err
		}
		running.Store(p)
		return p.Run(ctx)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		if health.IsReady() {
			w.WriteHeader(http.StatusOK)
			return
		}
		log.Debugf("not ready yet: %v", health.GetUnhealthyTargets())
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	if opts.MetadataEnabled { // --metadata-enabled: the dissemination tables, for debugging
		mux.HandleFunc("GET /placement/state", func(w http.ResponseWriter, r *http.Request) {
			p := running.Load()
			if p == nil {
				http.Error(w, "placement is starting", http.StatusServiceUnavailable)
				return
			}
			tables, err := p.StatePlacementTables(r.Context())
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(tables)
		})
	}
	healthAddr := net.JoinHostPort(opts.HealthzListenAddress, strconv.Itoa(opts.HealthzPort))

	return concurrency.NewRunnerManager(
		exporter.Start,
		sec.Run,
		servePlacement,
		serveHTTP(healthAddr, mux, health.AddTarget("healthz-server")),
	).Run(ctx)
}

// serveHTTP returns a runner that serves handler on addr until its context ends, and reports
// ready to target once it is listening.
func serveHTTP(addr string, handler http.Handler, target healthz.Target) concurrency.Runner {
	return func(ctx context.Context) error {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return err
		}
		log.Infof("Healthz server is listening on %s", ln.Addr())
		srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
		served := make(chan error, 1)
		go func() { served <- srv.Serve(ln) }()
		target.Ready()

		select {
		case err = <-served: // failed on its own
			return err
		case <-ctx.Done():
		}
		stop, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = srv.Shutdown(stop)
		if serveErr := <-served; !errors.Is(serveErr, http.ErrServerClosed) {
			err = errors.Join(err, serveErr)
		}
		return err
	}
}
