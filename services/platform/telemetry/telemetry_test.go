package telemetry_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"

	"github.com/tessera-dev/tessera/services/platform/telemetry"
)

// Services in one process each get providers whose resource names them; the same
// instrument in two services makes two /metrics series told apart by service_name
// (not a scrape error), and shutting the providers down leaves the shared exporter
// to its owner.
func TestEachServiceHasItsOwnProviders(t *testing.T) {
	spans := tracetest.NewInMemoryExporter()
	tel, err := telemetry.Setup(t.Context(), telemetry.Config{ServiceName: "tessera", SpanExporter: spans})
	require.NoError(t, err)

	for _, svc := range []string{"license", "device"} {
		p, err := tel.For(svc)
		require.NoError(t, err)
		again, err := tel.For(svc)
		require.NoError(t, err)
		require.Same(t, p.Tracer, again.Tracer, "one provider per service")

		_, span := p.TracerProvider().Tracer("test").Start(t.Context(), "work in "+svc)
		span.End()
		calls, err := p.MeterProvider().Meter("test").Int64Counter("test.calls")
		require.NoError(t, err)
		calls.Add(t.Context(), 1, metric.WithAttributes(attribute.String("rpc_method", "Same/Method")))
	}

	got := map[string]string{}
	for _, s := range spans.GetSpans() {
		v, _ := s.Resource.Set().Value(semconv.ServiceNameKey)
		got[s.Name] = v.AsString()
	}
	require.Equal(t, map[string]string{"work in license": "tessera-license", "work in device": "tessera-device"}, got)

	rec := httptest.NewRecorder()
	tel.MetricsHandler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	require.Equal(t, http.StatusOK, rec.Code, "%s", body)
	var series []string
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "test_calls_total{") {
			series = append(series, line)
		}
	}
	require.Len(t, series, 2, "%s", body)
	require.Contains(t, strings.Join(series, "\n"), `service_name="tessera-license"`)
	require.Contains(t, strings.Join(series, "\n"), `service_name="tessera-device"`)

	require.NoError(t, tel.Shutdown(t.Context()))
	require.Len(t, spans.GetSpans(), 2, "the caller's exporter stays open")
}

// A nil Telemetry gives the global providers (code built without telemetry).
func TestNilTelemetryGivesTheGlobalProviders(t *testing.T) {
	var tel *telemetry.Telemetry
	p, err := tel.For("license")
	require.NoError(t, err)
	require.Nil(t, p.Tracer)
	require.NotNil(t, p.TracerProvider())
	require.NotNil(t, p.MeterProvider())
}
