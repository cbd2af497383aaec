package gateway

import (
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"
)

type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection (download deadlines).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Flush lets streamed downloads reach the client as they are written.
func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// secretPrefixes start the credentials Tessera issues: bearer tokens, invitation
// tokens, web register keys, subscription tokens.
var secretPrefixes = []string{"rna_", "inv_", "WRK-", "sub_"}

// secretCollections hold resources named by a secret (routes from before the secret
// moved into the request body, or typed by hand).
var secretCollections = []string{"invitations", "webRegisterKeys"}

// redactPath hides every path segment that is or may be a secret, keeping a custom
// method's verb (":accept") so the line still says what was asked. No route takes a
// secret in its path; this is the second line of defence for clients that put one
// there anyway.
func redactPath(path string) string {
	parts := strings.Split(path, "/")
	for i, part := range parts {
		value, verb, hasVerb := strings.Cut(part, ":")
		secret := i > 0 && slices.Contains(secretCollections, parts[i-1])
		for _, p := range secretPrefixes {
			secret = secret || strings.HasPrefix(value, p)
		}
		if !secret || value == "" {
			continue
		}
		parts[i] = "REDACTED"
		if hasVerb {
			parts[i] += ":" + verb
		}
	}
	return strings.Join(parts, "/")
}

// accessLog logs one line per request (secrets in the path redacted, the request
// ID from the context); server errors at error level.
func accessLog(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		level := slog.LevelInfo
		if rec.status >= 500 {
			level = slog.LevelError
		}
		log.Log(r.Context(), level, "http", "method", r.Method, "path", redactPath(r.URL.Path), "status", rec.status,
			"bytes", rec.bytes, "duration_ms", float64(time.Since(start).Microseconds())/1000, "remote", r.RemoteAddr)
	})
}
