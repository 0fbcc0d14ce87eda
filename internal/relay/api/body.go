package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/opencamcloud/camcloud/internal/problem"
)

// bodyProgress is how much of a request body must arrive within each body timeout: a
// body trickling in more slowly (a byte every few seconds, to hold the connection) is
// cut off, while an upload of any size that keeps moving is not.
const bodyProgress = 16 << 10

// errBodyTimeout is what a handler reads from a body that stopped arriving.
var errBodyTimeout = errors.New("the request body did not arrive in time")

type bodyKey struct{}

// withBodyDeadline makes request bodies arrive in time. The time counted is the time the
// relay waits in Read for the next bodyProgress bytes (or the end), so a handler that
// reads slowly on purpose, like EdgeLink passing an upload on to a slow camera, never
// trips it; a caller that sends headers and then stalls is cut off after BodyTimeout
// with 408 and the connection closed. A handler that answers without reading the whole
// body closes the connection too: net/http would otherwise read what is left of the
// body first, and wait for it without end.
func (a *API) withBodyDeadline(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		b := &deadlineBody{ReadCloser: r.Body, rc: http.NewResponseController(w), timeout: a.cfg.BodyTimeout}
		b.timer = time.AfterFunc(time.Hour, b.expire)
		b.timer.Stop()
		r.Body = b
		r = r.WithContext(context.WithValue(r.Context(), bodyKey{}, b))
		next.ServeHTTP(&bodyWriter{ResponseWriter: w, body: b, http1: r.ProtoMajor == 1}, r)
		if !b.done.Load() {
			// Cut short net/http's read of the rest: the answer said the connection closes.
			_ = b.rc.SetReadDeadline(time.Now())
		}
	})
}

// bodyTimeoutProblem is the answer to a caller whose body stopped arriving.
func bodyTimeoutProblem(timeout time.Duration) *problem.Problem {
	return problem.Newf(problem.RequestTimeout, "the request body stopped arriving: each %d KiB (or the end) must come within %s", bodyProgress>>10, timeout)
}

// bodyTimedOut tells whether the request's body stopped arriving in time.
func bodyTimedOut(r *http.Request) bool {
	b, ok := r.Context().Value(bodyKey{}).(*deadlineBody)
	return ok && b.timedOut.Load()
}

// deadlineBody is a request body whose reads run under a deadline: a timer runs while a
// Read waits, and if it fires, it ends the read through the connection's (or HTTP/2
// stream's) read deadline. Deadlines are left alone between reads, when a deadline
// passing unnoticed would make the next read fail although the caller kept sending.
type deadlineBody struct {
	io.ReadCloser
	rc      *http.ResponseController
	timeout time.Duration
	timer   *time.Timer

	waited time.Duration // time spent in Read since the last bodyProgress bytes
	got    int           // bytes since then

	done     atomic.Bool // the body was read to its end
	timedOut atomic.Bool
}

func (b *deadlineBody) expire() {
	b.timedOut.Store(true)
	_ = b.rc.SetReadDeadline(time.Now())
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	if b.timedOut.Load() {
		return 0, b.timeoutError()
	}
	start := time.Now()
	b.timer.Reset(b.timeout - b.waited)
	n, err := b.ReadCloser.Read(p)
	if !b.timer.Stop() {
		return n, b.timeoutError()
	}
	b.waited += time.Since(start)
	b.got += n
	if b.got >= bodyProgress {
		b.got, b.waited = 0, 0
	}
	if err == io.EOF {
		b.done.Store(true)
	}
	return n, err
}

func (b *deadlineBody) timeoutError() error {
	return fmt.Errorf("%w (less than %d bytes in %s)", errBodyTimeout, bodyProgress, b.timeout)
}

// bodyWriter closes an HTTP/1.1 connection after an answer given before the body was
// read to its end: otherwise net/http would read what is left first, and a caller that
// never sends it would hold the connection.
type bodyWriter struct {
	http.ResponseWriter
	body        *deadlineBody
	http1       bool
	wroteHeader bool
}

func (w *bodyWriter) WriteHeader(code int) {
	if !w.wroteHeader && code >= 200 {
		w.wroteHeader = true
		if w.http1 && !w.body.done.Load() {
			w.Header().Set("Connection", "close")
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *bodyWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (flushes, deadlines).
func (w *bodyWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush passes through, for streamed answers.
func (w *bodyWriter) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }
