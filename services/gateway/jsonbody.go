package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// jsonMarshaler is grpc-gateway's protojson marshaler, except that a request's
// update_mask may name fields in snake_case (as the OpenAPI document and the errors
// do) as well as in the camelCase protojson insists on, and that decoding errors
// carry the full path of the field (withFieldPath).
type jsonMarshaler struct{ *runtime.JSONPb }

func (m jsonMarshaler) NewDecoder(r io.Reader) runtime.Decoder {
	return runtime.DecoderFunc(func(v any) error {
		raw, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		if len(bytes.TrimSpace(raw)) == 0 {
			return io.EOF // an empty body, as the streaming decoder reports it
		}
		body := CamelUpdateMask(raw)
		if err := m.Unmarshal(body, v); err != nil {
			return withFieldPath(body, err, bodyMessage(v))
		}
		return nil
	})
}

// CamelUpdateMask rewrites the paths of a top-level update_mask (or updateMask)
// string to camelCase; any other body is returned unchanged.
func CamelUpdateMask(body []byte) []byte {
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil {
		return body
	}
	changed := false
	for _, key := range []string{"update_mask", "updateMask"} {
		var mask string
		if json.Unmarshal(fields[key], &mask) != nil {
			continue
		}
		paths := strings.Split(mask, ",")
		for i, p := range paths {
			segs := strings.Split(strings.TrimSpace(p), ".")
			for j, s := range segs {
				segs[j] = camelCase(s)
			}
			paths[i] = strings.Join(segs, ".")
		}
		if out, err := json.Marshal(strings.Join(paths, ",")); err == nil {
			fields[key], changed = out, true
		}
	}
	if !changed {
		return body
	}
	out, err := json.Marshal(fields)
	if err != nil {
		return body
	}
	return out
}

// camelCase turns display_name into displayName; camelCase input stays as it is.
func camelCase(s string) string {
	var b strings.Builder
	upper := false
	for _, r := range s {
		if r == '_' {
			upper = true
			continue
		}
		if upper && r >= 'a' && r <= 'z' {
			r -= 'a' - 'A'
		}
		upper = false
		b.WriteRune(r)
	}
	return b.String()
}

// bodyMessage is the message grpc-gateway decodes into: the request (body "*") or,
// for a body field, the field's message, passed as a pointer to its pointer.
func bodyMessage(v any) proto.Message {
	if msg, ok := v.(proto.Message); ok {
		return msg
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && rv.Elem().Kind() == reflect.Pointer {
		msg, _ := rv.Elem().Interface().(proto.Message)
		return msg
	}
	return nil
}

// protojsonPosition is where protojson's error text says it stopped: "(line 1:19)".
var protojsonPosition = regexp.MustCompile(`\(line (\d+):(\d+)\)`)

// withFieldPath adds to a protojson decoding error of body the full path of the
// field it stopped at, " (at field lines[0].type)", which protojson's text lacks (it
// names the innermost field only). The path comes from the error's position and a
// walk of body's tokens, resolved against msg's descriptor to proto names; it stops
// at a map (its keys are data, not fields). The error is unchanged when no path is
// found.
func withFieldPath(body []byte, err error, msg proto.Message) error {
	if msg == nil {
		return err
	}
	m := protojsonPosition.FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	line, _ := strconv.Atoi(m[1])
	col, _ := strconv.Atoi(m[2])
	offset, ok := byteOffset(body, line, col)
	if !ok {
		return err
	}
	path := resolvePath(msg.ProtoReflect().Descriptor(), jsonPathAt(body, offset))
	if path == "" {
		return err
	}
	return fmt.Errorf("%w (at field %s)", err, path)
}

// byteOffset turns protojson's 1-based line and rune column into a byte offset.
func byteOffset(body []byte, line, col int) (int, bool) {
	off := 0
	for ; line > 1; line-- {
		i := bytes.IndexByte(body[off:], '\n')
		if i < 0 {
			return 0, false
		}
		off += i + 1
	}
	for ; col > 1; col-- {
		if off >= len(body) {
			return 0, false
		}
		_, size := utf8.DecodeRune(body[off:])
		off += size
	}
	return off, true
}

// jsonPathAt is the path (object keys as strings, list indexes as ints) of the JSON
// token that starts at offset, or as far as the body parses.
func jsonPathAt(body []byte, offset int) []any {
	type frame struct {
		object  bool
		key     string
		index   int
		wantKey bool
	}
	path := func(stack []frame) []any {
		var out []any
		for _, f := range stack {
			if f.object {
				if !f.wantKey {
					out = append(out, f.key)
				}
			} else {
				out = append(out, f.index)
			}
		}
		return out
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var stack []frame
	done := func() { // the value at the top frame's position is complete
		if len(stack) == 0 {
			return
		}
		if top := &stack[len(stack)-1]; top.object {
			top.wantKey = true
		} else {
			top.index++
		}
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return path(stack)
		}
		end := int(dec.InputOffset())
		if len(stack) > 0 && stack[len(stack)-1].object && stack[len(stack)-1].wantKey {
			if tok == json.Delim('}') {
				stack = stack[:len(stack)-1]
				done()
				continue
			}
			key, _ := tok.(string)
			stack[len(stack)-1].key, stack[len(stack)-1].wantKey = key, false
			if end > offset { // the key itself: an unknown field
				return path(stack)
			}
			continue
		}
		if tok == json.Delim(']') {
			stack = stack[:len(stack)-1]
			done()
			continue
		}
		if end > offset {
			return path(stack)
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, frame{object: true, wantKey: true})
		case json.Delim('['):
			stack = append(stack, frame{})
		default:
			done()
		}
	}
}

// resolvePath spells a JSON path as proto field names (lines[0].type), as far as
// md's fields reach; a key that names no field ends it, spelled as sent when plain.
func resolvePath(md protoreflect.MessageDescriptor, elems []any) string {
	var b strings.Builder
	for i := 0; i < len(elems); i++ {
		key, ok := elems[i].(string)
		if !ok || md == nil {
			break
		}
		fd := md.Fields().ByJSONName(key)
		if fd == nil {
			fd = md.Fields().ByName(protoreflect.Name(key))
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		if fd == nil {
			if plainName.MatchString(key) {
				b.WriteString(snakeCase(key))
			}
			break
		}
		b.WriteString(string(fd.Name()))
		if fd.IsMap() {
			break
		}
		if fd.IsList() && i+1 < len(elems) {
			idx, ok := elems[i+1].(int)
			if !ok {
				break
			}
			b.WriteString("[" + strconv.Itoa(idx) + "]")
			i++
		}
		md = fd.Message()
	}
	return strings.TrimSuffix(b.String(), ".")
}

var plainName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
