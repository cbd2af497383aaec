package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tessera-dev/tessera/services/platform/logging"
)

// RequestIDHeader names a request's ID on the way in and out.
const RequestIDHeader = "X-Request-Id"

// maxRequestIDLength bounds a caller's request ID; a longer one is replaced.
const maxRequestIDLength = 128

// validRequestID reports whether a caller-supplied request ID is short and plain
// enough to pass into logs, traces and metadata unchanged.
func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLength {
		return false
	}
	for _, c := range []byte(id) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':'
		if !ok {
			return false
		}
	}
	return true
}

func newRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// withRequestID gives every request an ID — the caller's when it is valid, a new one
// otherwise — echoed on the response, carried by log lines (logging.WithRequestID),
// the trace and the calls to the services (grpcx.PropagateRequestID). It also puts
// the redacted path on the span, so no secret in a URL reaches the trace backend.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(RequestIDHeader)
		if !validRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set(RequestIDHeader, id)
		trace.SpanFromContext(r.Context()).SetAttributes(
			attribute.String("http.request_id", id), attribute.String("url.path", redactPath(r.URL.Path)))
		next.ServeHTTP(w, r.WithContext(logging.WithRequestID(r.Context(), id)))
	})
}

// allowedMethods are the methods the REST API routes.
const allowedMethods = "GET, POST, PATCH, DELETE"

// edge applies what every response needs before routing: security headers, CORS, the
// refusal of methods the API does not serve, and the request body limit.
func (g *Gateway) edge(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		if strings.HasPrefix(r.URL.Path, "/v1/") {
			// API answers carry tokens, keys and customer data: no cache keeps them.
			h.Set("Cache-Control", "no-store")
		}
		origin := r.Header.Get("Origin")
		corsOK := origin != "" && g.originAllowed(origin)
		if corsOK {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
			h.Set("Access-Control-Expose-Headers", "X-Request-Id, Retry-After, Content-Disposition, Content-Range, ETag, Digest")
		}
		switch r.Method {
		case http.MethodOptions:
			if corsOK && r.Header.Get("Access-Control-Request-Method") != "" {
				h.Set("Access-Control-Allow-Methods", allowedMethods)
				h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Request-Id, Range")
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
			g.methodNotAllowed(w, r)
			return
		case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPatch, http.MethodDelete, http.MethodPut:
		default: // TRACE, CONNECT and inventions
			g.methodNotAllowed(w, r)
			return
		}
		if limit := g.cfg.MaxBodyBytes; limit > 0 && r.Body != nil && r.Body != http.NoBody {
			// Refuse a declared oversize body before reading a byte of it; cut off an
			// undeclared (chunked) one at the limit.
			if r.ContentLength > limit {
				writeStatus(w, tooLarge(limit))
				return
			}
			lb := &limitedBody{ReadCloser: http.MaxBytesReader(w, r.Body, limit), limit: limit}
			r.Body = lb
			r = r.WithContext(context.WithValue(r.Context(), limitedBodyKey{}, lb))
		}
		next.ServeHTTP(w, r)
	})
}

func (g *Gateway) originAllowed(origin string) bool {
	return slices.Contains(g.cfg.CORSAllowedOrigins, "*") || slices.Contains(g.cfg.CORSAllowedOrigins, origin)
}

// reasonMethodNotAllowed is the status and reason of a 405: gRPC has no code for it.
const reasonMethodNotAllowed = "METHOD_NOT_ALLOWED"

// methodNotAllowed answers 405 with the methods the path really serves in Allow
// (empty when it serves none: RFC 9110 allows that).
func (g *Gateway) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	allowed := g.routes.allowed(r.URL.Path)
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	msg := "the method " + r.Method + " is not allowed here"
	if len(allowed) > 0 {
		msg += "; this path serves " + strings.Join(allowed, ", ")
	}
	writeBody(w, ErrorBody{Error: ErrorDetail{
		Code: http.StatusMethodNotAllowed, Status: reasonMethodNotAllowed, Reason: reasonMethodNotAllowed, Message: msg,
	}})
}

type limitedBodyKey struct{}

// limitedBody remembers that the body limit cut a request off, so that the error
// handlers answer 413 whatever error the reader's caller made of it.
type limitedBody struct {
	io.ReadCloser
	limit    int64
	exceeded bool
}

func (b *limitedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		b.exceeded = true
	}
	return n, err
}

// bodyTooLarge reports whether the body limit cut r off, and the limit.
func bodyTooLarge(r *http.Request) (int64, bool) {
	lb, ok := r.Context().Value(limitedBodyKey{}).(*limitedBody)
	if !ok || !lb.exceeded {
		return 0, false
	}
	return lb.limit, true
}

// reasonTooLarge is the ErrorInfo reason of a request over a size limit (HTTP 413).
const reasonTooLarge = "REQUEST_TOO_LARGE"

// tooLarge is the status of a request over the body limit; limit 0 when unknown.
func tooLarge(limit int64) *status.Status {
	msg := "the request is larger than the gateway accepts"
	md := map[string]string{}
	if limit > 0 {
		msg = "the request body is larger than the limit of " + strconv.FormatInt(limit, 10) + " bytes"
		md["limit_bytes"] = strconv.FormatInt(limit, 10)
	}
	st := status.New(codes.ResourceExhausted, msg)
	if withInfo, err := st.WithDetails(&errdetails.ErrorInfo{Reason: reasonTooLarge, Domain: "tessera.dev", Metadata: md}); err == nil {
		return withInfo
	}
	return st
}

// fromTransport turns gRPC's own message-size refusals (RESOURCE_EXHAUSTED with an
// internal message and no details) into the too-large status, which maps to 413:
// they are not rate limits, and their text names gRPC internals.
func fromTransport(st *status.Status) *status.Status {
	if st.Code() == codes.ResourceExhausted && len(st.Details()) == 0 && strings.Contains(st.Message(), "larger than max") {
		return tooLarge(0)
	}
	return st
}
