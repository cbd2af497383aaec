package telemetry_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/tessera-dev/tessera/services/platform/telemetry"
)

// scrape counts one event for tenant acme under cfg and returns /metrics.
func scrape(t *testing.T, cfg telemetry.Config) string {
	t.Helper()
	tel, err := telemetry.Setup(t.Context(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	c, err := otel.Meter("telemetry_test").Int64Counter("tessera_test_orders")
	require.NoError(t, err)
	c.Add(t.Context(), 3, metric.WithAttributes(telemetry.TenantAttribute.String("acme"), attribute.String("kind", "web")))
	rec := httptest.NewRecorder()
	tel.MetricsHandler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body, err := io.ReadAll(rec.Body)
	require.NoError(t, err)
	return string(body)
}

// Tenant IDs stay out of metric labels unless configured (issue 12, item 10).
func TestTenantLabels(t *testing.T) {
	off := scrape(t, telemetry.Config{ServiceName: "t"})
	require.Contains(t, off, `tessera_test_orders_total{kind="web"`)
	require.NotContains(t, off, `tenant="acme"`)

	on := scrape(t, telemetry.Config{ServiceName: "t", TenantLabels: true})
	require.Contains(t, on, `tenant="acme"`)
}
