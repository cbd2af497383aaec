package suite_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	accountpb "github.com/tessera-dev/tessera/gen/tessera/account/v1"
	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

// BenchmarkGatewayVsGRPC runs the same authenticated read (GetAccount) with
// benchClients concurrent callers twice in one run: through the REST gateway with a
// bearer token (token check included) and straight over gRPC with a signed
// principal. The ratio is the share of direct-gRPC throughput the edge keeps.
func BenchmarkGatewayVsGRPC(b *testing.B) {
	env := suitetest.Start(b, productionLoops)
	env.SeedLineItem(b, "edge-co", 1)
	token := benchLogin(b, env.Suite.GatewayURL)
	acc := accountpb.NewAccountServiceClient(env.Dial(b, "account"))
	grpcCtx := env.As(b, suitetest.Producer("edge-co"))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: benchClients}}

	viaGateway := func(int) error {
		req, err := http.NewRequestWithContext(context.Background(), "GET", env.Suite.GatewayURL+"/v1/accounts/HOME", nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return &statusError{resp.StatusCode}
		}
		return nil
	}
	direct := func(int) error {
		_, err := acc.GetAccount(grpcCtx, &accountpb.GetAccountRequest{Name: "accounts/HOME"})
		return err
	}
	// The machine's own cost of one HTTP/1.1 exchange with the same client: a
	// handler that answers a fixed body at once. A gateway that did nothing at all
	// would still pay for this hop on top of the gRPC call, so 1/(1/http + 1/grpc)
	// is the most any gateway could reach here.
	raw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(rawBody)
	}))
	defer raw.Close()
	bare := func(int) error {
		req, err := http.NewRequestWithContext(context.Background(), "GET", raw.URL+"/v1/accounts/HOME", nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.Body.Close()
	}
	b.ResetTimer()
	gwRate, gwP99 := runConcurrent(b, b.N, viaGateway)
	grpcRate, grpcP99 := runConcurrent(b, b.N, direct)
	httpRate, _ := runConcurrent(b, b.N, bare)
	b.StopTimer()
	bound := 1 / (1/httpRate + 1/grpcRate)
	b.ReportMetric(gwRate, "gateway_req/s")
	b.ReportMetric(ms(gwP99), "gateway_p99_ms")
	b.ReportMetric(grpcRate, "grpc_req/s")
	b.ReportMetric(ms(grpcP99), "grpc_p99_ms")
	b.ReportMetric(httpRate, "raw_http_req/s")
	b.ReportMetric(gwRate/grpcRate, "ratio_gateway_vs_grpc")
	b.ReportMetric(bound/grpcRate, "ratio_bound_vs_grpc")
	b.ReportMetric(gwRate/bound, "ratio_gateway_vs_bound")
}

// rawBody is a response the size of GetAccount's.
var rawBody = []byte(`{"name":"accounts/HOME","account_id":"HOME","display_name":"edge-co","type":"ACCOUNT_TYPE_PRODUCER","visible_to_partners":true,"create_time":"2026-11-22T12:00:00Z","update_time":"2026-11-22T12:00:00Z"}`)

type statusError struct{ code int }

func (e *statusError) Error() string { return http.StatusText(e.code) }

func benchLogin(b *testing.B, base string) string {
	resp, err := http.Post(base+"/v1/auth:login", "application/json", strings.NewReader(`{"tenant_id":"edge-co","username":"admin","password":"Admin-Password-1"}`)) //nolint:noctx // a benchmark's set-up
	require.NoError(b, err)
	defer func() { _ = resp.Body.Close() }()
	require.Equal(b, http.StatusOK, resp.StatusCode)
	var body struct {
		AccessToken string `json:"access_token"`
	}
	require.NoError(b, json.NewDecoder(resp.Body).Decode(&body))
	return body.AccessToken
}

// runConcurrent makes n calls from benchClients goroutines and returns calls/s and p99.
func runConcurrent(b *testing.B, n int, call func(i int) error) (float64, time.Duration) {
	perSec, _, p99 := runConcurrentPercentiles(b, n, call)
	return perSec, p99
}

// runConcurrentPercentiles makes n calls from benchClients goroutines and returns
// calls/s, p50 and p99.
func runConcurrentPercentiles(b *testing.B, n int, call func(i int) error) (float64, time.Duration, time.Duration) {
	return runConcurrentPercentilesN(b, n, benchClients, call)
}

// runConcurrentPercentilesN is runConcurrentPercentiles with clients callers.
func runConcurrentPercentilesN(b *testing.B, n, clients int, call func(i int) error) (float64, time.Duration, time.Duration) {
	var next atomic.Int64
	lat := make([]time.Duration, n)
	start := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				t0 := time.Now()
				if err := call(int(i)); err != nil {
					b.Error(err)
					return
				}
				lat[i] = time.Since(t0)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	return float64(n) / elapsed.Seconds(), lat[len(lat)/2], lat[len(lat)*99/100]
}
