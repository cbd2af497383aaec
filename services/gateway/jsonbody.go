package gateway

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
)

// jsonMarshaler is grpc-gateway's protojson marshaler, except that a request's
// update_mask may name fields in snake_case (as the OpenAPI document and the errors
// do) as well as in the camelCase protojson insists on.
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
		return m.Unmarshal(CamelUpdateMask(raw), v)
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
