// Package validate is Tessera's one rule for strings (DESIGN Decision 11): every
// string of every request is valid UTF-8, holds no NUL or other control character
// (line breaks and tabs only where a field is declared multi-line), and is at most
// a bounded number of characters. The bounds are declared next to the fields in the
// protos with the tessera.common.v1.text option; a field without it gets Default.
//
// Servers apply it to every request before the handler runs (UnaryServerInterceptor,
// StreamServerInterceptor), so nothing reaches the database — where Postgres refuses
// NUL bytes — or an event, which the broker limits in size.
package validate

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"unicode/utf8"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	commonpb "github.com/tessera-dev/tessera/gen/tessera/common/v1"
	"github.com/tessera-dev/tessera/services/platform/errs"
)

// Rule bounds one string.
type Rule struct {
	MaxLen    int  // characters (code points)
	Multiline bool // LF, CR LF and tab allowed
}

// DefaultMaxLen bounds a string field that declares no length: names, IDs, e-mail
// addresses, resource names.
const DefaultMaxLen = 256

// Default is the rule of fields without the text option, and of map keys.
var Default = Rule{MaxLen: DefaultMaxLen}

// maxViolations caps the violations one refusal lists: a request of ten thousand
// bad strings gets a short answer.
const maxViolations = 20

// Problem says what is wrong with s under r, or "" when nothing is.
func Problem(s string, r Rule) string {
	if n := utf8.RuneCountInString(s); n > r.MaxLen {
		return fmt.Sprintf("must be at most %d characters (has %d)", r.MaxLen, n)
	}
	if !utf8.ValidString(s) {
		return "must be valid UTF-8"
	}
	for i, c := range s {
		switch {
		case c == 0:
			return "must not contain NUL characters"
		case r.Multiline && (c == '\n' || c == '\t'):
		case r.Multiline && c == '\r' && i+1 < len(s) && s[i+1] == '\n':
		case c < 0x20 || (c >= 0x7f && c <= 0x9f):
			if r.Multiline {
				return fmt.Sprintf("must not contain control characters other than line breaks and tabs (found U+%04X)", c)
			}
			return fmt.Sprintf("must not contain control characters or line breaks (found U+%04X)", c)
		case !r.Multiline && (c == '\u2028' || c == '\u2029'):
			return fmt.Sprintf("must not contain line breaks (found U+%04X)", c)
		}
	}
	return ""
}

// Message checks every string in m — nested messages, repeated fields, map keys and
// values — and returns an InvalidArgument *errs.Error naming each bad field by its
// path (product.display_name, lines[2].attributes["colour"]), or nil.
func Message(m proto.Message) error {
	if m == nil {
		return nil
	}
	var v walker
	v.message("", m.ProtoReflect())
	return v.violations.Err()
}

type walker struct {
	violations errs.Violations
	count      int
}

func (w *walker) full() bool { return w.count >= maxViolations }

func (w *walker) check(path, s string, r Rule) {
	if w.full() {
		return
	}
	if p := Problem(s, r); p != "" {
		w.violations.Add(path, "%s", p)
		w.count++
	}
}

func (w *walker) message(prefix string, m protoreflect.Message) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		path := prefix + string(fd.Name())
		switch {
		case fd.IsMap():
			w.mapField(path, fd, v.Map())
		case fd.IsList():
			list := v.List()
			for i := range list.Len() {
				w.value(fmt.Sprintf("%s[%d]", path, i), fd, fd, list.Get(i))
			}
		default:
			w.value(path, fd, fd, v)
		}
		return !w.full()
	})
}

func (w *walker) mapField(path string, fd protoreflect.FieldDescriptor, m protoreflect.Map) {
	keyIsString := fd.MapKey().Kind() == protoreflect.StringKind
	m.Range(func(k protoreflect.MapKey, v protoreflect.Value) bool {
		at := path + "[" + k.String() + "]"
		if keyIsString {
			if p := Problem(k.String(), Default); p != "" {
				// The bad key is not echoed: it may be the very bytes refused.
				w.violations.Add(path, "a key %s", p)
				w.count++
				return !w.full()
			}
			at = path + "[" + strconv.Quote(k.String()) + "]"
		}
		w.value(at, fd.MapValue(), fd, v) // the map field declares its values' rule
		return !w.full()
	})
}

// value checks one value of kind fd.Kind() under the rule declared on field.
func (w *walker) value(path string, fd, field protoreflect.FieldDescriptor, v protoreflect.Value) {
	switch fd.Kind() {
	case protoreflect.StringKind:
		w.check(path, v.String(), RuleOf(field))
	case protoreflect.MessageKind, protoreflect.GroupKind:
		w.message(path+".", v.Message())
	default:
	}
}

var rules sync.Map // protoreflect.FullName -> Rule

// RuleOf is the declared rule of a string field, or Default.
func RuleOf(fd protoreflect.FieldDescriptor) Rule {
	if cached, ok := rules.Load(fd.FullName()); ok {
		if r, ok := cached.(Rule); ok {
			return r
		}
	}
	r := Default
	if opts := fd.Options(); opts != nil {
		if t, ok := proto.GetExtension(opts, commonpb.E_Text).(*commonpb.TextRule); ok && t != nil {
			if t.GetMaxLen() > 0 {
				r.MaxLen = int(t.GetMaxLen())
			}
			r.Multiline = t.GetMultiline()
		}
	}
	rules.Store(fd.FullName(), r)
	return r
}

// UnaryServerInterceptor refuses a request with a bad string before its handler runs.
func UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if m, ok := req.(proto.Message); ok {
			if err := Message(m); err != nil {
				return nil, err
			}
		}
		return handler(ctx, req)
	}
}

// StreamServerInterceptor checks every message a client sends on a stream as it is
// received.
func StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		return handler(srv, &checkedStream{ServerStream: ss})
	}
}

type checkedStream struct{ grpc.ServerStream }

func (s *checkedStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	if pm, ok := m.(proto.Message); ok {
		return Message(pm)
	}
	return nil
}
