package gateway

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/tessera-dev/tessera/gen/openapi"
	"github.com/tessera-dev/tessera/services/account"
	"github.com/tessera-dev/tessera/services/device"
	"github.com/tessera-dev/tessera/services/download"
	"github.com/tessera-dev/tessera/services/entitlement"
	"github.com/tessera-dev/tessera/services/license"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/grpcx"
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
		// The hosts collection's key has the account as a wildcard: a template here.
		path := "/v1/" + strings.Replace(c, "*", "{account}", 1) + ":export"
		routes = append(routes, HandRoute{
			Method: "GET", Path: path, Produces: "text/csv",
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
	publicOperations(paths)
	uniqueOperationIDs(paths)
	return json.Marshal(doc)
}

// operationIDOf is the operationId protoc-gen-openapiv2 gives an RPC:
// /tessera.account.v1.AuthService/Login gives AuthService_Login.
func operationIDOf(fullMethod string) string {
	service, method, _ := strings.Cut(strings.TrimPrefix(fullMethod, "/"), "/")
	return service[strings.LastIndexByte(service, '.')+1:] + "_" + method
}

// publicOperations gives the operations of public RPCs an empty security list, so
// that clients send no token to them. The generated IDs drop the proto package, so
// an ID is public only when every RPC it could stand for is.
func publicOperations(paths map[string]any) {
	public := map[string]bool{}
	for _, perms := range []grpcx.Permissions{
		account.Permissions(), entitlement.Permissions(), license.Permissions(), device.Permissions(), download.Permissions(),
	} {
		for method, perm := range perms {
			id := operationIDOf(method)
			if seen, ok := public[id]; ok && !seen {
				continue
			}
			public[id] = perm == authz.Public
		}
	}
	for _, op := range operations(paths) {
		if id, _ := op.op["operationId"].(string); public[id] {
			op.op["security"] = []any{}
		}
	}
}

type operation struct {
	path, method string
	op           map[string]any
}

// operations are the document's operations ordered by path and method.
func operations(paths map[string]any) []operation {
	var out []operation
	for path, item := range paths {
		methods, _ := item.(map[string]any)
		for method, op := range methods {
			if op, ok := op.(map[string]any); ok {
				out = append(out, operation{path, method, op})
			}
		}
	}
	slices.SortFunc(out, func(a, b operation) int {
		if c := strings.Compare(a.path, b.path); c != 0 {
			return c
		}
		return strings.Compare(a.method, b.method)
	})
	return out
}

// uniqueOperationIDs renames operations whose ID another operation already has
// (one RPC bound to two paths, or two packages' services of the same name): Swagger
// 2.0 and client generators need unique IDs. The first by path keeps the ID; the
// others get their path's name appended.
func uniqueOperationIDs(paths map[string]any) {
	count := map[string]int{}
	ops := operations(paths)
	for _, op := range ops {
		id, _ := op.op["operationId"].(string)
		count[id]++
	}
	taken := map[string]bool{}
	for id, n := range count {
		taken[id] = n == 1
	}
	for _, op := range ops {
		id, _ := op.op["operationId"].(string)
		if count[id] > 1 && taken[id] {
			base := id + "_" + operationName(op.path)
			id = base
			for n := 2; taken[id]; n++ {
				id = base + "_" + strconv.Itoa(n)
			}
			op.op["operationId"] = id
		}
		taken[id] = true
	}
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
