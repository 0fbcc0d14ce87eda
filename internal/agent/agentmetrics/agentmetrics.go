// Package agentmetrics serves an agent's health and Prometheus metrics on an address of
// the agent's host (--metrics-listen): whether its link to the relay is up, how many
// devices it manages and how many are reachable, and its tasks by state.
package agentmetrics

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/pkg/edgelink"
	"github.com/opencamcloud/camcloud/pkg/taskengine"
	"github.com/opencamcloud/camcloud/pkg/taskstate"
)

// Source is what the metrics read (a *fleet.Manager), each time they are scraped.
type Source interface {
	LastInventory() []linkapi.DeviceReport
	TaskRecords() ([]taskengine.Record, error)
}

// Server serves /healthz and /metrics.
type Server struct {
	ln   net.Listener
	srv  *http.Server
	link atomic.Int32 // edgelink.State
}

// Listen makes the server on addr; src may be nil (no device or task metrics).
func Listen(addr string, src Source) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{ln: ln}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "camcloud_agent_link_up", Help: "1 while the link to the relay is up."},
		func() float64 {
			if edgelink.State(s.link.Load()) == edgelink.StateConnected {
				return 1
			}
			return 0
		}))
	if src != nil {
		reg.MustRegister(&collector{src: src})
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if edgelink.State(s.link.Load()) != edgelink.StateConnected {
			http.Error(w, "the link to the relay is down", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	return s, nil
}

// Addr is where the server listens.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// SetLink records the link's state.
func (s *Server) SetLink(st edgelink.Status) { s.link.Store(int32(st.State)) }

// Serve serves until ctx is done.
func (s *Server) Serve(ctx context.Context) error {
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = s.srv.Shutdown(sctx)
		case <-done:
		}
	}()
	if err := s.srv.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

var (
	devicesDesc   = prometheus.NewDesc("camcloud_agent_devices", "Devices the agent manages, by whether they answered the last inventory.", []string{"reachable"}, nil)
	driftDesc     = prometheus.NewDesc("camcloud_agent_devices_drifted", "Managed devices whose last inventory showed drift from their profile.", nil, nil)
	tasksDesc     = prometheus.NewDesc("camcloud_agent_tasks", "Tasks in the agent's journal, by state.", []string{"state"}, nil)
	collectorDesc = []*prometheus.Desc{devicesDesc, driftDesc, tasksDesc}
)

// collector reads the devices and tasks when scraped.
type collector struct{ src Source }

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range collectorDesc {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	up, down, drifted := 0, 0, 0
	for _, d := range c.src.LastInventory() {
		if d.Reachable {
			up++
		} else {
			down++
		}
		if len(d.Drift) > 0 {
			drifted++
		}
	}
	ch <- prometheus.MustNewConstMetric(devicesDesc, prometheus.GaugeValue, float64(up), "true")
	ch <- prometheus.MustNewConstMetric(devicesDesc, prometheus.GaugeValue, float64(down), "false")
	ch <- prometheus.MustNewConstMetric(driftDesc, prometheus.GaugeValue, float64(drifted))
	recs, err := c.src.TaskRecords()
	if err != nil {
		return
	}
	by := map[taskstate.State]int{}
	for _, r := range recs {
		by[r.State]++
	}
	for _, st := range taskengine.States() {
		ch <- prometheus.MustNewConstMetric(tasksDesc, prometheus.GaugeValue, float64(by[st]), string(st))
	}
}
