package suite_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	devicepb "github.com/tessera-dev/tessera/gen/tessera/device/v1"
	licensepb "github.com/tessera-dev/tessera/gen/tessera/license/v1"
	"github.com/tessera-dev/tessera/services/platform/ids"
	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

// mappingLoads are the numbers of concurrent callers mapping is measured at.
var mappingLoads = []int{16, 64}

// BenchmarkDeviceMapping measures map + unmap pairs per second on one hot line item
// (each caller on a device of its own, as fleets map: many devices, one purchase),
// and in the same run and at the same load the golden activation rate and raw
// single-row Postgres commits per second (docs/perf.md, "Device mapping").
func BenchmarkDeviceMapping(b *testing.B) {
	env := suitetest.Start(b, productionLoops)
	seed := env.SeedLineItem(b, "map-bench", 1_000_000_000)
	actSeed := env.SeedLineItem(b, "map-bench", 1_000_000_000)
	dev := devicepb.NewDeviceServiceClient(env.Dial(b, "device"))
	lic := licensepb.NewLicenseServiceClient(env.Dial(b, "license"))
	ctx := env.As(b, suitetest.Producer("map-bench"))
	li := "lineItems/" + seed.ActivationID
	maxLoad := mappingLoads[len(mappingLoads)-1]
	devices := make(chan string, maxLoad)
	for range maxLoad {
		d, err := dev.CreateDevice(ctx, &devicepb.CreateDeviceRequest{Device: &devicepb.Device{
			Account: "accounts/" + seed.AccountID, DisplayName: "Bench", Type: devicepb.DeviceType_DEVICE_TYPE_STANDALONE,
		}})
		require.NoError(b, err)
		devices <- d.GetName()
	}
	pair := func(run string, i int) error {
		d := <-devices
		defer func() { devices <- d }()
		if _, err := dev.MapLineItem(ctx, &devicepb.MapLineItemRequest{Device: d, LineItem: li, Quantity: 1, RequestId: fmt.Sprintf("%s-m%d", run, i)}); err != nil {
			return err
		}
		_, err := dev.UnmapLineItem(ctx, &devicepb.UnmapLineItemRequest{Device: d, LineItem: li, Quantity: 1, RequestId: fmt.Sprintf("%s-u%d", run, i)})
		return err
	}
	activate := func(run string, i int) error {
		_, err := lic.ActivateLineItem(ctx, &licensepb.ActivateLineItemRequest{
			LineItem: "lineItems/" + actSeed.ActivationID, HostId: "HOSTNAME=fleet", Quantity: 1, RequestId: fmt.Sprintf("%s-a%d", run, i),
		})
		return err
	}
	warmUp(b, env.DatabaseURL, 1000, func(i int) error {
		if err := activate("warm", i); err != nil {
			return err
		}
		return pair("warm", i)
	})
	for _, clients := range mappingLoads {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			ctx = env.As(b, suitetest.Producer("map-bench")) // signed principals live 2 minutes
			run := ids.New("RUN", 4)
			b.ResetTimer()
			pairs, p50, p99 := runConcurrentPercentilesN(b, b.N, clients, func(i int) error { return pair(run, i) })
			b.StopTimer()
			time.Sleep(200 * time.Millisecond) // the confirmer's last group
			activations, _, _ := runConcurrentPercentilesN(b, b.N, clients, func(i int) error { return activate(run, i) })
			time.Sleep(200 * time.Millisecond)
			commits := postgresCommitsPerSecond(b, env.DatabaseURL, clients)
			b.ReportMetric(pairs, "pairs/s")
			b.ReportMetric(ms(p50), "pair_p50_ms")
			b.ReportMetric(ms(p99), "pair_p99_ms")
			b.ReportMetric(activations, "activations/s")
			b.ReportMetric(commits, "raw_pg_commits/s")
			b.ReportMetric(pairs/activations, "ratio_vs_activations")
			b.ReportMetric(pairs/commits, "ratio_vs_pg_commits")
		})
	}
}
