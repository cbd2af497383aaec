package gateway

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/tessera-dev/tessera/gen/openapi"
)

// HandRoute is a route the gateway serves itself rather than through grpc-gateway;
// the generated OpenAPI document cannot know these, so openAPIDocument adds them.
type HandRoute struct {
	Method, Path, Summary string
	Produces              string
	Query                 []string // query parameters, all optional strings
	Header                []string // request headers it honours
	Responses             map[string]string
}

// handRoutes lists what the /v1/ dispatcher in New sends to the hand-written handlers.
func (g *Gateway) handRoutes() []HandRoute {
	routes := []HandRoute{
		{
			Method: "GET", Path: "/v1/packages/{package}/files/{file}:download", Produces: "application/octet-stream",
			Summary: "Downloads a file of a package the caller is entitled to; a single byte range (Range: bytes=a-b) is honoured.",
			Header:  []string{"Range"},
			Responses: map[string]string{
				"200": "The whole file.", "206": "The requested range.", "416": "The range lies outside the file.",
			},
		},
		{
			Method: "GET", Path: "/v1/fulfillments/{fulfillment}:licenseFile", Produces: "text/plain",
			Summary:   "The fulfillment's license text, to save as LicenseFile.lic.",
			Responses: map[string]string{"200": "The license file."},
		},
		{
			Method: "GET", Path: "/v1/consolidatedLicenses/{consolidatedLicense}:licenseFile", Produces: "text/plain",
			Summary:   "The consolidated license's text, to save as LicenseFile.lic.",
			Responses: map[string]string{"200": "The license file."},
		},
		{
			Method: "GET", Path: "/v1/fulfillments/{fulfillment}:print", Produces: "text/html",
			Summary:   "A printable page of the fulfillment.",
			Responses: map[string]string{"200": "The page."},
		},
	}
	collections := make([]string, 0, 8)
	for name := range g.exporters() {
		collections = append(collections, name)
	}
	slices.Sort(collections)
	for _, c := range collections {
		routes = append(routes, HandRoute{
			Method: "GET", Path: "/v1/" + c + ":export", Produces: "text/csv",
			Summary: "Exports every " + c + " item the caller may see as CSV (all pages).",
			Query:   []string{"filter", "order_by", "names"},
			Responses: map[string]string{
				"200": "The CSV file.",
			},
		})
	}
	return routes
}

// openAPIDocument is the generated document with the hand routes added.
func (g *Gateway) openAPIDocument() ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(openapi.Document, &doc); err != nil {
		return nil, fmt.Errorf("gateway: generated OpenAPI document: %w", err)
	}
	paths, _ := doc["paths"].(map[string]any)
	if paths == nil {
		paths = map[string]any{}
		doc["paths"] = paths
	}
	errorSchema := map[string]any{"$ref": "#/definitions/rpcStatus"}
	for _, r := range g.handRoutes() {
		var params []any
		for _, name := range pathParams(r.Path) {
			params = append(params, map[string]any{"name": name, "in": "path", "required": true, "type": "string"})
		}
		for _, q := range r.Query {
			params = append(params, map[string]any{"name": q, "in": "query", "required": false, "type": "string"})
		}
		for _, h := range r.Header {
			params = append(params, map[string]any{"name": h, "in": "header", "required": false, "type": "string"})
		}
		responses := map[string]any{"default": map[string]any{"description": "An error in the standard error shape.", "schema": errorSchema}}
		for code, desc := range r.Responses {
			resp := map[string]any{"description": desc}
			if code == "200" || code == "206" {
				resp["schema"] = map[string]any{"type": "file"}
			}
			responses[code] = resp
		}
		item, _ := paths[r.Path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[r.Path] = item
		}
		item[strings.ToLower(r.Method)] = map[string]any{
			"summary": r.Summary, "operationId": "Gateway_" + operationName(r.Path), "tags": []string{"Gateway"},
			"produces": []string{r.Produces}, "parameters": params, "responses": responses,
		}
	}
	return json.Marshal(doc)
}

// pathParams are the {names} of a path template, in order.
func pathParams(path string) []string {
	var out []string
	for {
		open := strings.IndexByte(path, '{')
		if open < 0 {
			return out
		}
		end := strings.IndexByte(path[open:], '}')
		if end < 0 {
			return out
		}
		out = append(out, path[open+1:open+end])
		path = path[open+end+1:]
	}
}

// operationName makes a readable operation ID from a path: /v1/fulfillments/{f}:print
// gives fulfillments_print.
func operationName(path string) string {
	var b []byte
	skip := false
	for _, c := range []byte(path[len("/v1/"):]) {
		switch {
		case c == '{':
			skip = true
		case c == '}':
			skip = false
		case skip:
		case c == '/' || c == ':':
			if len(b) > 0 && b[len(b)-1] != '_' {
				b = append(b, '_')
			}
		default:
			b = append(b, c)
		}
	}
	return string(b)
}
