package gateway

import (
	"math"
	"net/http"
	"net/url"
	"sort"

	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/validate"
)

// urlRule is the string rule applied to the decoded path and query of every API
// request: the characters the services allow in a single-line field. Lengths are
// left to the services, which bound each field on its own.
var urlRule = validate.Rule{MaxLen: math.MaxInt32}

// badURL refuses a request whose decoded path or query holds invalid UTF-8, NUL or a
// control character. The services refuse such strings in request fields too, but
// invalid UTF-8 cannot even be put into a request to them (it fails as an internal
// error), and the gateway's own routes (downloads, license files, exports) read path
// and query values no service sees. A query parameter is named by its key, which for
// the mapped RPCs is the request field's path.
func badURL(r *http.Request) error {
	var v errs.Violations
	if p := validate.Problem(r.URL.Path, urlRule); p != "" {
		v.Add("path", "the URL path %s", p)
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		v.Add("query", "the URL query is malformed")
	}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if p := validate.Problem(k, urlRule); p != "" {
			v.Add("query", "a parameter name %s", p) // not echoed: it may be the bytes refused
			continue
		}
		for _, val := range q[k] {
			if p := validate.Problem(val, urlRule); p != "" {
				v.Add(k, "%s", p)
				break
			}
		}
	}
	return v.Err()
}
