package gateway

import (
	"strings"
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	accountpb "github.com/tessera-dev/tessera/gen/tessera/account/v1"
	entitlementpb "github.com/tessera-dev/tessera/gen/tessera/entitlement/v1"
)

// decodeRefusal decodes body into msg as the gateway's marshaler does and returns
// the refusal's field and reason.
func decodeRefusal(t *testing.T, body string, msg any) (field, reason string) {
	t.Helper()
	err := jsonMarshaler{&runtime.JSONPb{}}.NewDecoder(strings.NewReader(body)).Decode(msg)
	require.Error(t, err, body)
	st := fromDecoding(status.New(codes.InvalidArgument, err.Error()))
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.BadRequest:
			field = d.GetFieldViolations()[0].GetField()
		case *errdetails.ErrorInfo:
			reason = d.GetReason()
		}
	}
	return field, reason
}

// Issue g1, item 4: body decoding errors name the full field path and carry a reason.
func TestDecodingFieldPaths(t *testing.T) {
	for body, want := range map[string][2]string{
		`{"lines":[{"type":"NOPE"}]}`:                  {"lines[0].type", reasonInvalidField},
		`{"lines":[{}, {"attributes":{"a":1}}]}`:       {"lines[1].attributes", reasonInvalidField},
		`{"lines":{"a":1}}`:                            {"lines", reasonInvalidField},
		"{\n \"orderId\": 5}":                          {"order_id", reasonInvalidField},
		`{"lines":[{"colour":"red"}]}`:                 {"lines[0].colour", reasonInvalidField},
		`{"ship_to_emails":["a", 1]}`:                  {"ship_to_emails[1]", reasonInvalidField},
		`{"lines":[{"quantity":"x", "type": "NOPE"}]}`: {"lines[0].quantity", reasonInvalidField},
		`{"lines":`: {"body", reasonInvalidJSON},
		`not json`:  {"body", reasonInvalidJSON},
	} {
		field, reason := decodeRefusal(t, body, &entitlementpb.CreateOrderRequest{})
		require.Equal(t, want[0], field, body)
		require.Equal(t, want[1], reason, body)
	}
	field, reason := decodeRefusal(t, `{"update_mask":{"paths":["display_name"]}}`, &accountpb.UpdateAccountRequest{})
	require.Equal(t, "update_mask", field)
	require.Equal(t, reasonInvalidField, reason)
	// A body field (body: "account") arrives as a pointer to the message pointer.
	var account *accountpb.Account
	field, _ = decodeRefusal(t, `{"attributes":{"k":true}}`, &account)
	require.Equal(t, "attributes", field)
}

// Issue g1, item 4: query parameter parse errors name the parameter.
func TestQueryParameterRefusals(t *testing.T) {
	for msg, field := range map[string]string{
		`parsing field "page_size": strconv.ParseInt: parsing "abc": invalid syntax`: "page_size",
		`parsing field "view": "FULL" is not a valid value`:                          "view",
		`too many values for field "filter": a, b`:                                   "filter",
	} {
		st := fromDecoding(status.New(codes.InvalidArgument, msg))
		require.Len(t, st.Details(), 2, msg)
		require.Equal(t, reasonInvalidField, st.Details()[0].(*errdetails.ErrorInfo).GetReason())
		require.Equal(t, field, st.Details()[1].(*errdetails.BadRequest).GetFieldViolations()[0].GetField())
		require.NotContains(t, st.Message(), "strconv")
	}
}

func FuzzWithFieldPath(f *testing.F) {
	for _, s := range []string{`{"lines":[{"type":"NOPE"}]}`, `{"lines":{"a":1}}`, "{\n\"a\":[1,{\"b\":", `[`, `{"update_mask":{}}`, ``} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		msg := &entitlementpb.CreateOrderRequest{}
		err := protojson.Unmarshal([]byte(body), msg)
		if err == nil {
			return
		}
		out := withFieldPath([]byte(body), err, msg)
		require.ErrorIs(t, out, err, "the error stays protojson's")
		st := fromDecoding(status.New(codes.InvalidArgument, out.Error()))
		require.Equal(t, codes.InvalidArgument, st.Code())
	})
}
