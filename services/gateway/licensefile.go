package gateway

import (
	"html/template"
	"net/http"
	"strings"

	"google.golang.org/grpc/status"

	licensepb "github.com/tessera-dev/tessera/gen/tessera/license/v1"
	"github.com/tessera-dev/tessera/services/platform/authz"
)

// licenseFileName is what a saved license is called (SPEC LIC-7, PLT-5).
const licenseFileName = "LicenseFile.lic"

// fulfillmentView serves GET /v1/fulfillments/{id}:licenseFile and
// /v1/consolidatedLicenses/{id}:licenseFile (the license text to save, as
// LicenseFile.lic) and GET /v1/fulfillments/{id}:print (a page to print).
func (g *Gateway) fulfillmentView(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/v1/")
	name, view, _ := strings.Cut(path, ":")
	ctx := r.Context()
	if signed, ok := ctx.Value(signedKey{}).(string); ok {
		ctx = authz.Outgoing(ctx, signed)
	}
	lic := licensepb.NewLicenseServiceClient(g.conns["license"])
	if strings.HasPrefix(name, "consolidatedLicenses/") {
		c, err := lic.GetConsolidatedLicense(ctx, &licensepb.GetConsolidatedLicenseRequest{Name: name})
		if err != nil {
			writeStatus(w, status.Convert(err))
			return
		}
		serveLicenseFile(w, c.GetLicenseText())
		return
	}
	f, err := lic.GetFulfillment(ctx, &licensepb.GetFulfillmentRequest{Name: name})
	if err != nil {
		writeStatus(w, status.Convert(err))
		return
	}
	if view == "licenseFile" {
		serveLicenseFile(w, f.GetLicenseText())
		return
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	_ = printView.Execute(w, f)
}

func serveLicenseFile(w http.ResponseWriter, text string) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+licenseFileName+`"`)
	_, _ = w.Write([]byte(text))
}

// printView lays a fulfillment out for printing; html/template escapes every value.
var printView = template.Must(template.New("print").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>License {{.FulfillmentId}}</title>
<style>body{font-family:sans-serif;margin:2em}th{text-align:left;padding-right:1em}pre{border:1px solid #999;padding:1em;white-space:pre-wrap}</style>
</head><body>
<h1>License {{.FulfillmentId}}</h1>
<table>
<tr><th>Activation ID</th><td>{{.LineItem}}</td></tr>
<tr><th>Product</th><td>{{.Product}} {{.Version}}</td></tr>
<tr><th>Server hosts</th><td>{{range .ServerHostIds}}{{.}} {{end}}</td></tr>
<tr><th>Node-locked hosts</th><td>{{range .NodelockedHostIds}}{{.}} {{end}}</td></tr>
<tr><th>Count</th><td>{{.Count}} (overdraft {{.Overdraft}})</td></tr>
<tr><th>Support type</th><td>{{.SupportType}}</td></tr>
<tr><th>Fulfilled</th><td>{{if .CreateTime}}{{.CreateTime.AsTime.Format "2006-01-02"}}{{end}}</td></tr>
<tr><th>Expires</th><td>{{if .ExpireTime}}{{.ExpireTime.AsTime.Format "2006-01-02"}}{{else}}permanent{{end}}</td></tr>
</table>
<pre>{{.LicenseText}}</pre>
</body></html>
`))
