package suite_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
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
	env := suitetest.Start(b)
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
	b.ResetTimer()
	gwRate, gwP99 := runConcurrent(b, b.N, viaGateway)
	grpcRate, grpcP99 := runConcurrent(b, b.N, direct)
	b.StopTimer()
	b.ReportMetric(gwRate, "gateway_req/s")
	b.ReportMetric(ms(gwP99), "gateway_p99_ms")
	b.ReportMetric(grpcRate, "grpc_req/s")
	b.ReportMetric(ms(grpcP99), "grpc_p99_ms")
	b.ReportMetric(gwRate/grpcRate, "ratio_gateway_vs_grpc")
}

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
	var next atomic.Int64
	lat := make([]time.Duration, n)
	start := time.Now()
	var wg sync.WaitGroup
	for range benchClients {
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
