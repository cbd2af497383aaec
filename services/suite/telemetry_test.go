package suite_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

// Every service reports itself as service.name tessera-<service>, though all of them
// run in one process: the gateway's HTTP span, each side of every RPC, the consumer
// of an event, and the /metrics series.
func TestEachServiceReportsItsOwnServiceName(t *testing.T) {
	env := suitetest.Start(t)
	seed := env.SeedLineItem(t, "otelnames", 10)
	api := rest{t: t, base: env.Suite.GatewayURL}
	admin := api.as(login(api, seed.Tenant, "admin", "Admin-Password-1"))
	path := "/v1/lineItems/" + seed.ActivationID + ":activate"
	admin.ok("POST", path, map[string]any{"host_id": "HOSTNAME=otel", "quantity": 1, "request_id": "otel-1"})

	var trip []tracetest.SpanStub
	require.Eventually(t, func() bool {
		trip = traceOf(suitetest.Spans.GetSpans(), "POST "+path)
		return hasSpan(trip, "consume tessera.license.fulfillment.created", trace.SpanKindConsumer)
	}, 10*time.Second, 50*time.Millisecond, "the activation's trace never reached the license email's consumer")

	want := []struct {
		name, service string
		kind          trace.SpanKind
	}{
		{"POST " + path, "tessera-gateway", trace.SpanKindServer},
		{"tessera.license.v1.LicenseService/ActivateLineItem", "tessera-gateway", trace.SpanKindClient},
		{"tessera.license.v1.LicenseService/ActivateLineItem", "tessera-license", trace.SpanKindServer},
		{"consume tessera.license.fulfillment.created", "tessera-account", trace.SpanKindConsumer},
	}
	for _, w := range want {
		require.Equal(t, []string{w.service}, servicesOf(trip, w.name, w.kind), "%s (%s)", w.name, w.kind)
	}
	// Calls the license service makes to the entitlement service: its client spans,
	// the entitlement service's server spans.
	calls := 0
	for _, s := range trip {
		if strings.HasPrefix(s.Name, "tessera.entitlement.v1.") {
			calls++
			wantService := map[trace.SpanKind]string{trace.SpanKindClient: "tessera-license", trace.SpanKindServer: "tessera-entitlement"}[s.SpanKind]
			require.Equal(t, wantService, serviceName(s), "%s (%s)", s.Name, s.SpanKind)
		}
	}
	require.Positive(t, calls, "the activation called the entitlement service")

	metrics := string(api.do("GET", "/metrics", nil).Raw)
	for _, w := range []struct{ metric, label, service string }{
		{"rpc_server_call_duration_seconds_count{", `rpc_method="tessera.license.v1.LicenseService/ActivateLineItem"`, "tessera-license"},
		{"rpc_client_call_duration_seconds_count{", `rpc_method="tessera.license.v1.LicenseService/ActivateLineItem"`, "tessera-gateway"},
		{"tessera_license_activations_total{", `tenant="otelnames"`, "tessera-license"},
		{"tessera_entitlement_seats_reserved_total{", `tenant="otelnames"`, "tessera-entitlement"},
	} {
		require.True(t, hasSeries(metrics, w.metric, w.label, `service_name="`+w.service+`"`), "/metrics has no %s%s with service_name %s", w.metric, w.label, w.service)
	}
}

// traceOf returns every span of the trace holding the span named root.
func traceOf(spans tracetest.SpanStubs, root string) []tracetest.SpanStub {
	var id trace.TraceID
	for _, s := range spans {
		if s.Name == root {
			id = s.SpanContext.TraceID()
		}
	}
	var out []tracetest.SpanStub
	for _, s := range spans {
		if id.IsValid() && s.SpanContext.TraceID() == id {
			out = append(out, s)
		}
	}
	return out
}

func hasSpan(spans []tracetest.SpanStub, name string, kind trace.SpanKind) bool {
	return len(servicesOf(spans, name, kind)) > 0
}

// servicesOf lists the distinct service.name of the spans of that name and kind.
func servicesOf(spans []tracetest.SpanStub, name string, kind trace.SpanKind) []string {
	var out []string
	for _, s := range spans {
		if s.Name == name && s.SpanKind == kind && !containsString(out, serviceName(s)) {
			out = append(out, serviceName(s))
		}
	}
	return out
}

func serviceName(s tracetest.SpanStub) string {
	v, _ := s.Resource.Set().Value(semconv.ServiceNameKey)
	return v.AsString()
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// hasSeries says whether a line of the Prometheus text starts with metric and holds
// every label.
func hasSeries(text, metric string, labels ...string) bool {
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, metric) {
			continue
		}
		all := true
		for _, l := range labels {
			all = all && strings.Contains(line, l)
		}
		if all {
			return true
		}
	}
	return false
}
