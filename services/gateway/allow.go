package gateway

import (
	"slices"
	"strings"
)

// routeIndex knows which methods each path template of the API serves: every
// http.yaml rule and hand route, read from the OpenAPI document (which has both, see
// TestOpenAPICoversEveryRoute_Issue12). grpc-gateway keeps its patterns private, so
// the document is the one complete list the gateway holds.
type routeIndex struct {
	routes []indexedRoute
}

type indexedRoute struct {
	segments []string // "accounts", "{}" for a parameter
	verb     string   // after the last ':' ("" for none)
	methods  []string
}

// newRouteIndex indexes the document's paths ("/v1/accounts/{account}:tree") with
// their methods.
func newRouteIndex(paths map[string]any) *routeIndex {
	idx := &routeIndex{}
	for path, item := range paths {
		ops, _ := item.(map[string]any)
		var methods []string
		for m := range ops {
			switch m {
			case "get", "post", "patch", "delete", "put":
				methods = append(methods, strings.ToUpper(m))
			}
		}
		segments, verb := splitTemplate(path)
		idx.routes = append(idx.routes, indexedRoute{segments: segments, verb: verb, methods: methods})
	}
	return idx
}

// splitTemplate splits a path template into segments, each parameter as "{}", and
// its verb.
func splitTemplate(path string) ([]string, string) {
	segments := strings.Split(strings.TrimPrefix(path, "/"), "/")
	verb := ""
	last := segments[len(segments)-1]
	if i := strings.LastIndexByte(last, ':'); i >= 0 && !strings.Contains(last[i:], "}") {
		last, verb = last[:i], last[i+1:]
	}
	segments[len(segments)-1] = last
	for i, s := range segments {
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
			segments[i] = "{}"
		}
	}
	return segments, verb
}

// allowed lists the methods some route serves at path, in a fixed order.
func (idx *routeIndex) allowed(path string) []string {
	if idx == nil {
		return nil
	}
	segments := strings.Split(strings.TrimPrefix(path, "/"), "/")
	last := segments[len(segments)-1]
	var methods []string
	for _, r := range idx.routes {
		if len(r.segments) != len(segments) {
			continue
		}
		want := segments
		if r.verb != "" {
			base, ok := strings.CutSuffix(last, ":"+r.verb)
			if !ok {
				continue
			}
			want = append(slices.Clone(segments[:len(segments)-1]), base)
		}
		if matches(r.segments, want) {
			methods = append(methods, r.methods...)
		}
	}
	order := []string{"GET", "POST", "PATCH", "PUT", "DELETE"}
	slices.SortFunc(methods, func(a, b string) int { return slices.Index(order, a) - slices.Index(order, b) })
	return slices.Compact(methods)
}

func matches(template, segments []string) bool {
	for i, t := range template {
		if t == "{}" {
			if segments[i] == "" {
				return false
			}
			continue
		}
		if t != segments[i] {
			return false
		}
	}
	return true
}
