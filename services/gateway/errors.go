package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"unicode"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrorBody is the one JSON error shape of the REST API.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail describes a refused request.
type ErrorDetail struct {
	Code            int               `json:"code"`
	Status          string            `json:"status"`
	Message         string            `json:"message"`
	Reason          string            `json:"reason,omitempty"`
	Metadata        map[string]string `json:"metadata,omitempty"`
	FieldViolations []FieldViolation  `json:"field_violations,omitempty"`
}

// FieldViolation names a request field and what is wrong with it.
type FieldViolation struct {
	Field       string `json:"field"`
	Description string `json:"description"`
}

// writeStatus renders a gRPC status as the REST error shape.
func writeStatus(w http.ResponseWriter, st *status.Status) {
	code := runtime.HTTPStatusFromCode(st.Code())
	if st.Code() == codes.FailedPrecondition {
		code = http.StatusConflict // the request is valid; the resource's state refuses it
	}
	body := ErrorBody{Error: ErrorDetail{Code: code, Status: statusName(st.Code()), Message: st.Message()}}
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			body.Error.Reason = d.GetReason()
			body.Error.Metadata = d.GetMetadata()
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				body.Error.FieldViolations = append(body.Error.FieldViolations, FieldViolation{Field: v.GetField(), Description: v.GetDescription()})
			}
		}
	}
	if st.Code() == codes.ResourceExhausted {
		if s, ok := body.Error.Metadata["retry_after_seconds"]; ok {
			if _, err := strconv.Atoi(s); err == nil {
				w.Header().Set("Retry-After", s)
			}
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}

// errorHandler plugs writeStatus into grpc-gateway; request bodies that do not parse
// arrive here as InvalidArgument too.
func errorHandler(_ context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, _ *http.Request, err error) {
	writeStatus(w, status.Convert(err))
}

// statusName spells a gRPC code as Google's JSON errors do: INVALID_ARGUMENT.
func statusName(c codes.Code) string {
	var b strings.Builder
	for i, r := range c.String() {
		if i > 0 && unicode.IsUpper(r) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}
