// Package audit writes the relay's audit log: calls worth recording (every EdgeLink
// request: who, which device, method, path, status) are queued without slowing the call
// down and written to the store in batches, from one goroutine that Run owns.
package audit

import (
	"context"
	"log/slog"
	"time"

	"github.com/opencamcloud/camcloud/internal/relay/store"
)

// queueSize bounds the entries waiting to be written; beyond it entries are dropped and
// the drop is logged, rather than slowing every call down.
const queueSize = 10000

// Log queues entries for the store.
type Log struct {
	st  *store.Store
	log *slog.Logger
	ch  chan store.AuditEntry
}

// New makes a Log; Run writes what Record queues.
func New(st *store.Store, log *slog.Logger) *Log {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Log{st: st, log: log, ch: make(chan store.AuditEntry, queueSize)}
}

// Record queues an entry; it never blocks.
func (l *Log) Record(e store.AuditEntry) {
	select {
	case l.ch <- e:
	default:
		l.log.Error("audit log queue full: entry dropped", "org", e.Org, "principal", e.Principal, "action", e.Action, "serial", e.Serial, "path", e.Path)
	}
}

// Run writes queued entries every 100 ms (or as soon as 500 are waiting) until ctx is
// done, then writes what is left.
func (l *Log) Run(ctx context.Context) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	batch := make([]store.AuditEntry, 0, 500)
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if err := l.st.AppendAudit(context.WithoutCancel(ctx), batch); err != nil {
			l.log.Error("write audit log", "entries", len(batch), "err", err)
		}
		batch = batch[:0]
	}
	for {
		select {
		case e := <-l.ch:
			batch = append(batch, e)
			if len(batch) == cap(batch) {
				flush()
			}
		case <-t.C:
			flush()
		case <-ctx.Done():
			for {
				select {
				case e := <-l.ch:
					batch = append(batch, e)
				default:
					flush()
					return
				}
			}
		}
	}
}
