// Package validate is Tessera's one rule for the size and content of requests
// (DESIGN Decision 11): every string of every request is valid UTF-8, holds no NUL
// or other control character (line breaks and tabs only where a field is declared
// multi-line), and is at most a bounded number of characters; every repeated field
// and map holds at most a bounded number of entries. The bounds are declared next to
// the fields in the protos with the tessera.common.v1.text and tessera.common.v1.items
// options; a field without them gets Default and DefaultMaxItems.
//
// Servers apply it to every request before the handler runs (UnaryServerInterceptor,
// StreamServerInterceptor), so nothing reaches the database — where Postgres refuses
// NUL bytes — or an event, which the broker limits in size.
package validate

import (
	"context"
	"fmt"
	"strconv"
	"strings"
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

// DefaultMaxItems bounds the entries of a repeated field or map that declares no
// bound. Batches declare more next to the field.
const DefaultMaxItems = 100

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
// values — and the number of entries of every repeated field and map, and returns an
// InvalidArgument *errs.Error naming each bad field by its path
// (product.display_name, lines[2].attributes["colour"], product.features), or nil.
func Message(m proto.Message) error {
	if m == nil {
		return nil
	}
	var v walker
	v.message(m.ProtoReflect())
	return v.violations.Err()
}

// walker visits the strings of a message. It keeps the path to the current value as
// a stack and spells it out only for a violation: valid requests, nearly all of
// them, cost no allocation per field.
type walker struct {
	path       []step
	violations errs.Violations
	count      int
}

// step is one element of a field path: a field name, a list index or a map key.
type step struct {
	name  string
	index int    // for a list element, else -1
	key   string // for a map value
	isKey bool
	// quoted keys are strings: attributes["colour"]; others numbers: counts[3].
	quoted bool
}

func (w *walker) full() bool { return w.count >= maxViolations }

func (w *walker) at() string {
	var b strings.Builder
	for i, s := range w.path {
		switch {
		case s.index >= 0:
			b.WriteString("[" + strconv.Itoa(s.index) + "]")
		case s.isKey && s.quoted:
			b.WriteString("[" + strconv.Quote(s.key) + "]")
		case s.isKey:
			b.WriteString("[" + s.key + "]")
		default:
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s.name)
		}
	}
	return b.String()
}

func (w *walker) refuse(format string, args ...any) {
	w.violations.Add(w.at(), format, args...)
	w.count++
}

func (w *walker) push(s step) { w.path = append(w.path, s) }
func (w *walker) pop()        { w.path = w.path[:len(w.path)-1] }

func (w *walker) message(m protoreflect.Message) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		counted := fd.IsList() || fd.IsMap()
		if !counted && !mayHoldStrings(fd) {
			return true
		}
		w.push(step{name: string(fd.Name()), index: -1})
		defer w.pop()
		if counted {
			n := 0
			if fd.IsMap() {
				n = v.Map().Len()
			} else {
				n = v.List().Len()
			}
			// Too many entries is the one problem reported: their contents would only
			// cost time to check.
			if limit := MaxItemsOf(fd); n > limit {
				w.refuse("must have at most %d entries (has %d)", limit, n)
				return !w.full()
			}
			if !mayHoldStrings(fd) {
				return true
			}
		}
		switch {
		case fd.IsMap():
			w.mapField(fd, v.Map())
		case fd.IsList():
			list := v.List()
			for i := range list.Len() {
				w.push(step{index: i})
				w.value(fd, fd, list.Get(i))
				w.pop()
			}
		default:
			w.value(fd, fd, v)
		}
		return !w.full()
	})
}

func mayHoldStrings(fd protoreflect.FieldDescriptor) bool {
	if fd.IsMap() {
		return fd.MapKey().Kind() == protoreflect.StringKind || mayHoldStrings(fd.MapValue())
	}
	k := fd.Kind()
	return k == protoreflect.StringKind || k == protoreflect.MessageKind || k == protoreflect.GroupKind
}

func (w *walker) mapField(fd protoreflect.FieldDescriptor, m protoreflect.Map) {
	keyIsString := fd.MapKey().Kind() == protoreflect.StringKind
	m.Range(func(k protoreflect.MapKey, v protoreflect.Value) bool {
		if keyIsString {
			if p := Problem(k.String(), Default); p != "" {
				w.refuse("a key %s", p) // the key is not echoed: it may be the very bytes refused
				return !w.full()
			}
		}
		w.push(step{key: k.String(), isKey: true, quoted: keyIsString, index: -1})
		w.value(fd.MapValue(), fd, v) // the map field declares its values' rule
		w.pop()
		return !w.full()
	})
}

// value checks one value of kind fd.Kind() under the rule declared on field.
func (w *walker) value(fd, field protoreflect.FieldDescriptor, v protoreflect.Value) {
	switch fd.Kind() {
	case protoreflect.StringKind:
		if p := Problem(v.String(), RuleOf(field)); p != "" && !w.full() {
			w.refuse("%s", p)
		}
	case protoreflect.MessageKind, protoreflect.GroupKind:
		w.message(v.Message())
	default:
	}
}

var (
	rules      sync.Map // protoreflect.FullName -> Rule
	itemLimits sync.Map // protoreflect.FullName -> int
)

// declared reads what a field's options declare once, and remembers it.
func declared[T any](cache *sync.Map, fd protoreflect.FieldDescriptor, read func(opts protoreflect.ProtoMessage) T) T {
	if cached, ok := cache.Load(fd.FullName()); ok {
		if v, ok := cached.(T); ok {
			return v
		}
	}
	v := read(fd.Options())
	cache.Store(fd.FullName(), v)
	return v
}

// RuleOf is the declared rule of a string field, or Default.
func RuleOf(fd protoreflect.FieldDescriptor) Rule {
	return declared(&rules, fd, func(opts protoreflect.ProtoMessage) Rule {
		r := Default
		if opts == nil {
			return r
		}
		if t, ok := proto.GetExtension(opts, commonpb.E_Text).(*commonpb.TextRule); ok && t != nil {
			if t.GetMaxLen() > 0 {
				r.MaxLen = int(t.GetMaxLen())
			}
			r.Multiline = t.GetMultiline()
		}
		return r
	})
}

// MaxItemsOf is the declared bound on the entries of a repeated field or map, or
// DefaultMaxItems.
func MaxItemsOf(fd protoreflect.FieldDescriptor) int {
	return declared(&itemLimits, fd, func(opts protoreflect.ProtoMessage) int {
		if opts == nil {
			return DefaultMaxItems
		}
		if r, ok := proto.GetExtension(opts, commonpb.E_Items).(*commonpb.ItemsRule); ok && r.GetMax() > 0 {
			return int(r.GetMax())
		}
		return DefaultMaxItems
	})
}

// UnaryServerInterceptor refuses a request with a bad string or too many entries
// before its handler runs.
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
