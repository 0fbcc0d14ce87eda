package discovery

import "context"

// emit logs a change and queues it for OnEvent. w.mu is held, so events queue in the
// order the changes were made.
func (w *Watcher) emit(kind EventKind, d Device) {
	w.log.Info("device "+string(kind), "serial", d.Serial, "addr", d.Addr, "source", d.Source, "model", d.Model)
	if w.cfg.OnEvent == nil {
		return
	}
	if len(w.queue) >= maxQueuedEvents {
		w.log.Warn("event queue full (Run is not running?); dropping the oldest event", "kind", w.queue[0].Kind, "serial", w.queue[0].Device.Serial)
		w.queue = w.queue[1:]
	}
	w.queue = append(w.queue, Event{Kind: kind, Device: d})
	select {
	case w.notify <- struct{}{}:
	default: // already signalled
	}
}

// dispatch tells OnEvent of queued events until ctx ends.
func (w *Watcher) dispatch(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.notify:
			w.deliver()
		}
	}
}

// deliver tells OnEvent of every queued event, outside the lock (OnEvent may call
// Devices). Only one goroutine delivers at a time: dispatch, or Run after dispatch ended.
func (w *Watcher) deliver() {
	for {
		w.mu.Lock()
		batch := w.queue
		w.queue = nil
		w.mu.Unlock()
		if len(batch) == 0 {
			return
		}
		for _, ev := range batch {
			w.cfg.OnEvent(ev)
		}
	}
}
