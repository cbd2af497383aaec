// Package telemetry configures OpenTelemetry: traces and metrics exported over OTLP
// when an endpoint is configured, metrics always on a Prometheus /metrics handler,
// W3C trace-context propagation. RPC metrics (rate, errors, duration per method)
// come from the otelgrpc stats handlers on every server and client.
//
// Each service gets tracer and meter providers of its own (For), whose resource
// names it (service.name tessera-license, tessera-gateway, ...), so a collector
// shows each service as itself even when several run in one process.
package telemetry

import (
	"context"
	"errors"
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
)

// Config says where telemetry goes.
type Config struct {
	// ServiceName names the global providers, which only code handed no providers
	// of its own uses (libraries); services use For.
	ServiceName  string
	OTLPEndpoint string // host:port of an OTLP gRPC collector; empty disables export
	OTLPInsecure bool
	// SpanExporter, when set, receives every span as well (tests use an in-memory one).
	SpanExporter sdktrace.SpanExporter
}

// ServiceName is the OTel service.name of a Tessera service ("license" →
// "tessera-license").
func ServiceName(service string) string { return "tessera-" + service }

// Providers are the tracer and meter providers of one service. The zero value uses
// the global ones.
type Providers struct {
	Tracer trace.TracerProvider
	Meter  metric.MeterProvider
}

// TracerProvider returns p's tracer provider, or the global one.
func (p Providers) TracerProvider() trace.TracerProvider {
	if p.Tracer != nil {
		return p.Tracer
	}
	return otel.GetTracerProvider()
}

// MeterProvider returns p's meter provider, or the global one.
func (p Providers) MeterProvider() metric.MeterProvider {
	if p.Meter != nil {
		return p.Meter
	}
	return otel.GetMeterProvider()
}

// GRPC returns the otelgrpc options that make RPC spans and metrics with p.
func (p Providers) GRPC() []otelgrpc.Option {
	return []otelgrpc.Option{otelgrpc.WithTracerProvider(p.TracerProvider()), otelgrpc.WithMeterProvider(p.MeterProvider())}
}

// Telemetry holds the exporters, the providers of every service and the /metrics
// handler.
type Telemetry struct {
	MetricsHandler http.Handler

	cfg      Config
	registry *prometheus.Registry
	// Exporters shared by every service's providers; they outlive the providers.
	spans   []sdktrace.SpanExporter
	metrics sdkmetric.Exporter

	mu        sync.Mutex
	providers map[string]Providers // by service.name
	shutdown  []func(context.Context) error
}

// Setup creates the exporters and installs the global providers and propagator.
func Setup(ctx context.Context, cfg Config) (*Telemetry, error) {
	t := &Telemetry{cfg: cfg, registry: prometheus.NewRegistry(), providers: map[string]Providers{}}
	t.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	t.MetricsHandler = promhttp.HandlerFor(t.registry, promhttp.HandlerOpts{})
	if cfg.OTLPEndpoint != "" {
		topts := []otlptracegrpc.Option{otlptracegrpc.WithEndpoint(cfg.OTLPEndpoint)}
		mopts := []otlpmetricgrpc.Option{otlpmetricgrpc.WithEndpoint(cfg.OTLPEndpoint)}
		if cfg.OTLPInsecure {
			topts = append(topts, otlptracegrpc.WithInsecure())
			mopts = append(mopts, otlpmetricgrpc.WithInsecure())
		}
		spans, err := otlptracegrpc.New(ctx, topts...)
		if err != nil {
			return nil, err
		}
		t.spans = append(t.spans, spans)
		if t.metrics, err = otlpmetricgrpc.New(ctx, mopts...); err != nil {
			_ = spans.Shutdown(ctx)
			return nil, err
		}
	}
	if cfg.SpanExporter != nil {
		t.spans = append(t.spans, cfg.SpanExporter)
	}
	global, err := t.named(cfg.ServiceName)
	if err != nil {
		_ = t.Shutdown(ctx)
		return nil, err
	}
	otel.SetTracerProvider(global.Tracer)
	otel.SetMeterProvider(global.Meter)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	return t, nil
}

// For returns the providers of a Tessera service ("license", "gateway"), made on
// first use; their resource says service.name tessera-<service>. A nil Telemetry
// gives the global providers.
func (t *Telemetry) For(service string) (Providers, error) {
	if t == nil {
		return Providers{}, nil
	}
	return t.named(ServiceName(service))
}

func (t *Telemetry) named(serviceName string) (Providers, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if p, ok := t.providers[serviceName]; ok {
		return p, nil
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(semconv.ServiceName(serviceName)))
	if err != nil {
		return Providers{}, err
	}

	tpOpts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	for _, exp := range t.spans {
		if exp == t.cfg.SpanExporter {
			tpOpts = append(tpOpts, sdktrace.WithSyncer(keepOpen{exp}))
		} else {
			tpOpts = append(tpOpts, sdktrace.WithBatcher(keepOpen{exp}))
		}
	}
	if len(t.spans) == 0 {
		// Nothing receives spans: record none. Trace IDs are still made and passed on
		// (logs and events carry them), without the cost of building every span.
		tpOpts = append(tpOpts, sdktrace.WithSampler(sdktrace.NeverSample()))
	}
	tp := sdktrace.NewTracerProvider(tpOpts...)

	// Every service's exporter feeds the one registry; the service_name label keeps
	// their series apart (two services calling the same RPC would collide otherwise).
	promExp, err := otelprom.New(otelprom.WithRegisterer(t.registry),
		otelprom.WithResourceAsConstantLabels(attribute.NewAllowKeysFilter(semconv.ServiceNameKey)))
	if err != nil {
		_ = tp.Shutdown(context.Background())
		return Providers{}, err
	}
	mpOpts := []sdkmetric.Option{sdkmetric.WithResource(res), sdkmetric.WithReader(promExp)}
	if t.metrics != nil {
		mpOpts = append(mpOpts, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(keepOpenMetrics{t.metrics})))
	}
	mp := sdkmetric.NewMeterProvider(mpOpts...)

	p := Providers{Tracer: tp, Meter: mp}
	t.providers[serviceName] = p
	t.shutdown = append(t.shutdown, tp.Shutdown, mp.Shutdown)
	return p, nil
}

// Shutdown flushes and stops every provider, then the shared exporters.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	var errs []error
	for _, f := range t.shutdown {
		errs = append(errs, f(ctx))
	}
	t.shutdown = nil
	for _, exp := range t.spans {
		if exp != t.cfg.SpanExporter { // the caller's to close
			errs = append(errs, exp.Shutdown(ctx))
		}
	}
	if t.metrics != nil {
		errs = append(errs, t.metrics.Shutdown(ctx))
	}
	return errors.Join(errs...)
}

// keepOpen shares a span exporter between providers: one provider's shutdown must
// not close it for the others.
type keepOpen struct{ sdktrace.SpanExporter }

func (keepOpen) Shutdown(context.Context) error { return nil }

// keepOpenMetrics does the same for the metric exporter.
type keepOpenMetrics struct{ sdkmetric.Exporter }

func (keepOpenMetrics) Shutdown(context.Context) error { return nil }
