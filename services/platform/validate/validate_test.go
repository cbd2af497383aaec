package validate_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	accountpb "github.com/tessera-dev/tessera/gen/tessera/account/v1"
	entitlementpb "github.com/tessera-dev/tessera/gen/tessera/entitlement/v1"
	licensepb "github.com/tessera-dev/tessera/gen/tessera/license/v1"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/validate"
)

func product(display, description string) *entitlementpb.CreateProductRequest {
	return &entitlementpb.CreateProductRequest{
		ProductId: "cad",
		Product:   &entitlementpb.Product{DisplayName: display, Description: description},
	}
}

// violations returns the refused field paths, or nil when m passes.
func violations(t *testing.T, m proto.Message) map[string]string {
	t.Helper()
	err := validate.Message(m)
	if err == nil {
		return nil
	}
	e, ok := errs.As(err)
	require.True(t, ok, "a validation error is an *errs.Error: %v", err)
	assert.Equal(t, errs.KindInvalid, e.Kind)
	out := map[string]string{}
	for _, v := range e.Violations {
		out[v.Field] = v.Description
	}
	return out
}

func TestMessage(t *testing.T) {
	long := strings.Repeat("é", validate.DefaultMaxLen+1) // counted in characters, not bytes
	tests := []struct {
		name string
		req  proto.Message
		want []string // refused field paths; none means the request passes
	}{
		{"plain strings pass", product("CAD Pro", "A\tmulti-line\r\ndescription\n"), nil},
		{"unicode passes", product("Ångström Ĉ 日本語 🚀", ""), nil},
		{"NUL in a name", product("CAD\x00Pro", ""), []string{"product.display_name"}},
		{"NUL in a description", product("CAD", "a\x00b"), []string{"product.description"}},
		{"ESC in a name", product("\x1b[31mCAD", ""), []string{"product.display_name"}},
		{"BEL in a description", product("CAD", "ding\a"), []string{"product.description"}},
		{"DEL in a name", product("CAD\x7f", ""), []string{"product.display_name"}},
		{"C1 control in a name", product("CAD\u0085", ""), []string{"product.display_name"}},
		{"LF in a name", product("CAD\nPro", ""), []string{"product.display_name"}},
		{"CR LF in a name", product("CAD\r\nPro", ""), []string{"product.display_name"}},
		{"tab in a name", product("CAD\tPro", ""), []string{"product.display_name"}},
		{"U+2028 line separator in a name", product("CAD\u2028Pro", ""), []string{"product.display_name"}},
		{"LF and CR LF in a description", product("CAD", "one\ntwo\r\nthree"), nil},
		{"lone CR in a description", product("CAD", "one\rtwo"), []string{"product.description"}},
		{"CR at the end of a description", product("CAD", "one\r"), []string{"product.description"}},
		{"invalid UTF-8 in a name", product("CAD\xff", ""), []string{"product.display_name"}},
		{"name of 256 characters", product(strings.Repeat("é", 256), ""), nil},
		{"over-long name", product(long, ""), []string{"product.display_name"}},
		{"description of 4096 characters", product("CAD", strings.Repeat("x", 4096)), nil},
		{"over-long description", product("CAD", strings.Repeat("x", 4097)), []string{"product.description"}},
		{"top-level field", &entitlementpb.CreateProductRequest{ProductId: "c\x00d"}, []string{"product_id"}},
		{
			"repeated strings by index",
			&entitlementpb.CreateProductRequest{Product: &entitlementpb.Product{PartNumbers: []string{"ok", "b\x1bd"}}},
			[]string{"product.part_numbers[1]"},
		},
		{
			"repeated messages by index",
			&entitlementpb.CreateProductRequest{Product: &entitlementpb.Product{Features: []*entitlementpb.Feature{{Name: "ok"}, {Name: "f", Version: "2\x00"}}}},
			[]string{"product.features[1].version"},
		},
		{
			"map value under its key",
			&entitlementpb.CreateOrderRequest{Lines: []*entitlementpb.OrderLine{{}, {Attributes: map[string]string{"colour": "re\x00d"}}}},
			[]string{`lines[1].attributes["colour"]`},
		},
		{
			"map value within its declared limit",
			&entitlementpb.CreateOrderRequest{Lines: []*entitlementpb.OrderLine{{Attributes: map[string]string{"note": strings.Repeat("x", 1024)}}}},
			nil,
		},
		{
			"map key, without echoing it",
			&entitlementpb.CreateOrderRequest{Lines: []*entitlementpb.OrderLine{{Attributes: map[string]string{"bad\x00key": "v"}}}},
			[]string{"lines[0].attributes"},
		},
		{
			"map key over the default limit",
			&accountpb.CreateAccountRequest{Account: &accountpb.Account{Attributes: map[string]string{long: "v"}}},
			[]string{"account.attributes"},
		},
		{
			"several fields at once",
			&accountpb.LoginRequest{TenantId: "t\x00", Username: "u\x1b", Password: "fine"},
			[]string{"tenant_id", "username"},
		},
		{
			"notice stays single-line: it is quoted text in a license file",
			&licensepb.ActivateLineItemsRequest{Attributes: &licensepb.FulfilAttributes{Notice: "a\nb"}},
			[]string{"attributes.notice"},
		},
		{
			"filter has room for long searches",
			&entitlementpb.ListProductsRequest{Filter: strings.Repeat("x", 2048)},
			nil,
		},
		{
			"filter is bounded",
			&entitlementpb.ListProductsRequest{Filter: strings.Repeat("x", 2049)},
			[]string{"filter"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := violations(t, tt.req)
			if tt.want == nil {
				assert.Empty(t, got)
				return
			}
			require.Len(t, got, len(tt.want), "violations: %v", got)
			for _, f := range tt.want {
				assert.Contains(t, got, f)
			}
		})
	}
}

func TestMessage_DescribesTheProblem(t *testing.T) {
	got := violations(t, product(strings.Repeat("x", 300), "a\x1bb"))
	assert.Equal(t, "must be at most 256 characters (has 300)", got["product.display_name"])
	assert.Contains(t, got["product.description"], "U+001B")
	bad := violations(t, &entitlementpb.CreateOrderRequest{Lines: []*entitlementpb.OrderLine{{Attributes: map[string]string{"k\x00y": "v"}}}})
	assert.NotContains(t, bad["lines[0].attributes"], "\x00", "the refused key is not echoed")
}

func TestMessage_CapsTheViolations(t *testing.T) {
	req := &entitlementpb.CreateProductRequest{Product: &entitlementpb.Product{}}
	for range validate.DefaultMaxItems {
		req.Product.PartNumbers = append(req.Product.PartNumbers, "\x00")
	}
	got := violations(t, req)
	assert.Len(t, got, 20)
}

func TestRuleOf_ReadsTheDeclaredOption(t *testing.T) {
	fields := (&entitlementpb.Product{}).ProtoReflect().Descriptor().Fields()
	assert.Equal(t, validate.Rule{MaxLen: 4096, Multiline: true}, validate.RuleOf(fields.ByName("description")))
	assert.Equal(t, validate.Default, validate.RuleOf(fields.ByName("display_name")))
}

func TestUnaryServerInterceptor(t *testing.T) {
	icpt := validate.UnaryServerInterceptor()
	called := false
	handler := func(context.Context, any) (any, error) { called = true; return "ok", nil }
	_, err := icpt(t.Context(), product("CAD\x00", ""), &grpc.UnaryServerInfo{}, handler)
	require.Error(t, err)
	assert.False(t, called, "the handler does not run for a refused request")
	st := errs.ToStatus(t.Context(), err)
	assert.Equal(t, codes.InvalidArgument, st.Code())
	var fields []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	assert.Equal(t, []string{"product.display_name"}, fields)

	resp, err := icpt(t.Context(), product("CAD", ""), &grpc.UnaryServerInfo{}, handler)
	require.NoError(t, err)
	assert.Equal(t, "ok", resp)
	assert.True(t, called)
}

type fakeStream struct {
	grpc.ServerStream
	msg proto.Message
}

func (s fakeStream) RecvMsg(m any) error {
	pm, ok := m.(proto.Message)
	if !ok {
		return errors.New("not a proto message")
	}
	proto.Merge(pm, s.msg)
	return nil
}

func TestStreamServerInterceptor(t *testing.T) {
	icpt := validate.StreamServerInterceptor()
	handler := func(_ any, ss grpc.ServerStream) error {
		return ss.RecvMsg(&entitlementpb.CreateProductRequest{})
	}
	err := icpt(nil, fakeStream{msg: product("CAD\x1b", "")}, &grpc.StreamServerInfo{}, handler)
	assert.Equal(t, codes.InvalidArgument, errs.Code(err))
	require.NoError(t, icpt(nil, fakeStream{msg: product("CAD", "")}, &grpc.StreamServerInfo{}, handler))
}

// FuzzProblem: the rule never panics, accepts only valid UTF-8 within the limit,
// and what it accepts in a single-line field holds no control character at all.
func FuzzProblem(f *testing.F) {
	for _, s := range []string{"", "CAD Pro", "a\x00b", "\x1b[0m", "a\r\nb", "a\rb", "\xff", "\u2028", strings.Repeat("é", 300)} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, multiline bool) {
		r := validate.Rule{MaxLen: 64, Multiline: multiline}
		if validate.Problem(s, r) != "" {
			return
		}
		require.True(t, utf8.ValidString(s))
		require.LessOrEqual(t, utf8.RuneCountInString(s), 64)
		for i, c := range s {
			control := c < 0x20 || (c >= 0x7f && c <= 0x9f)
			if !multiline {
				require.False(t, control || c == '\u2028' || c == '\u2029', "accepted %q", s)
				continue
			}
			allowed := c == '\n' || c == '\t' || (c == '\r' && strings.HasPrefix(s[i+1:], "\n"))
			require.False(t, control && !allowed, "accepted %q", s)
		}
	})
}

// Page tokens carry a copy of their filter and filters are expressions, so both need
// more than the default; a List RPC added without the option would refuse its own
// next_page_token. Every such field of every Tessera proto is checked here.
func TestPageTokensAndFiltersDeclareTheirLength(t *testing.T) {
	want := map[protoreflect.Name]int{"page_token": 32768, "filter": 2048}
	seen := 0
	protoregistry.GlobalFiles.RangeFiles(func(f protoreflect.FileDescriptor) bool {
		if !strings.HasPrefix(string(f.Package()), "tessera.") {
			return true
		}
		msgs := f.Messages()
		for i := range msgs.Len() {
			fields := msgs.Get(i).Fields()
			for j := range fields.Len() {
				fd := fields.Get(j)
				if n, ok := want[fd.Name()]; ok && fd.Kind() == protoreflect.StringKind {
					seen++
					assert.GreaterOrEqual(t, validate.RuleOf(fd).MaxLen, n, "%s", fd.FullName())
				}
			}
		}
		return true
	})
	require.Positive(t, seen, "no page_token field found: are the protos linked in?")
}
