package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
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
	st = fromTransport(st)
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
			if st.Code() == codes.ResourceExhausted && d.GetReason() == reasonTooLarge {
				body.Error.Code = http.StatusRequestEntityTooLarge
			}
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
	writeBody(w, body)
}

func writeBody(w http.ResponseWriter, body ErrorBody) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(body.Error.Code)
	_ = json.NewEncoder(w).Encode(body)
}

// errorHandler plugs writeStatus into grpc-gateway. Request bodies cut off by the
// body limit answer 413; bodies and parameters that do not parse arrive as
// InvalidArgument with protojson's text, and answer with the field named instead.
func errorHandler(_ context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	if limit, over := bodyTooLarge(r); over {
		writeStatus(w, tooLarge(limit))
		return
	}
	writeStatus(w, fromDecoding(status.Convert(err)))
}

// routingErrorHandler answers paths the API does not have (404) and methods a path
// does not serve (405, not gRPC's 501) in the one error shape.
func (g *Gateway) routingErrorHandler(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	switch httpStatus {
	case http.StatusMethodNotAllowed:
		g.methodNotAllowed(w, r)
	case http.StatusNotFound:
		writeStatus(w, status.New(codes.NotFound, "no API route matches "+r.Method+" "+redactPath(r.URL.Path)))
	default:
		runtime.DefaultRoutingErrorHandler(ctx, mux, m, w, r, httpStatus)
	}
}

var (
	// protojson's errors name the field by its JSON name: "invalid value for int64
	// field quantity: "abc"", "unknown field "colour"". It names only the innermost
	// field (a map's value is "value"); jsonMarshaler's decoder adds the full path
	// (see withFieldPath) when it can find it.
	protojsonField = regexp.MustCompile(`(?:invalid value for \S+ field|unknown field) "?([A-Za-z0-9_.]+)"?`)
	// grpc-gateway's path parameter errors ("type mismatch, parameter: quantity") and
	// query parameter errors ("parsing field "page_size": strconv.ParseInt: …"), which
	// name the proto field.
	pathParamField  = regexp.MustCompile(`parameter: ([A-Za-z0-9_.]+)`)
	queryParamField = regexp.MustCompile(`^(?:parsing (?:field|list|map key|map value)|too many values for field|duplicate field|field already set for oneof) "([A-Za-z0-9_.]+)"`)
	// fieldPathNote is how withFieldPath appends the full path to protojson's text.
	fieldPathNote    = regexp.MustCompile(` \(at field ([A-Za-z0-9_.\[\]]+)\)$`)
	decodingPrefixes = []string{"proto:", "type mismatch", "syntax error", "unexpected EOF", "json:", "invalid character", "parsing field", "parsing list", "parsing map", "too many values for field", "duplicate field", "field already set for oneof"}
)

// Reasons of decoding refusals: a body that is not JSON at all, and a field (of the
// body, the path or the query) whose value does not fit it or that does not exist.
const (
	reasonInvalidJSON  = "INVALID_JSON"
	reasonInvalidField = "INVALID_FIELD"
)

// fromDecoding turns a decoding failure of grpc-gateway (a status with protojson's or
// strconv's text and no details) into InvalidArgument with a reason and a BadRequest
// field violation naming the field in snake_case, as every other refusal does.
func fromDecoding(st *status.Status) *status.Status {
	if st.Code() != codes.InvalidArgument || len(st.Details()) > 0 {
		return st
	}
	msg := st.Message()
	if !slices.ContainsFunc(decodingPrefixes, func(p string) bool { return strings.HasPrefix(msg, p) }) {
		return st
	}
	field, desc, reason := "body", "the request body is not valid JSON", reasonInvalidJSON
	if m := protojsonField.FindStringSubmatch(msg); m != nil {
		field, reason = snakeCase(m[1]), reasonInvalidField
		switch {
		case strings.Contains(msg, "unknown field"):
			desc = "no such field in this request"
		default:
			desc = "the value has the wrong type or format for this field"
		}
	} else if m := queryParamField.FindStringSubmatch(msg); m != nil {
		field, desc, reason = m[1], "the value has the wrong type or format for this query parameter", reasonInvalidField
	} else if m := pathParamField.FindStringSubmatch(msg); m != nil {
		field, desc, reason = snakeCase(m[1]), "the value has the wrong type or format for this parameter", reasonInvalidField
	}
	if m := fieldPathNote.FindStringSubmatch(msg); m != nil {
		field = m[1]
		if reason == reasonInvalidJSON {
			// protojson's "unexpected token" at a known field: an object or list where
			// the field takes something else.
			desc, reason = "the value does not have the JSON type this field needs", reasonInvalidField
		}
	}
	out := status.New(codes.InvalidArgument, field+": "+desc)
	if withDetails, err := out.WithDetails(
		&errdetails.ErrorInfo{Reason: reason, Domain: "tessera.dev"},
		&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: field, Description: desc}}},
	); err == nil {
		return withDetails
	}
	return out
}

// snakeCase turns a JSON name (accountId) into the proto name (account_id) that
// errors and the OpenAPI document use.
func snakeCase(s string) string {
	var b strings.Builder
	for i, r := range s {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
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
