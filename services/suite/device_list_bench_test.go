package suite_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	commonpb "github.com/tessera-dev/tessera/gen/tessera/common/v1"
	devicepb "github.com/tessera-dev/tessera/gen/tessera/device/v1"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

// listBenchDevices is how many devices BenchmarkListDevices100k lists from.
const listBenchDevices = 100_000

// BenchmarkListDevices100k measures ListDevices over gRPC on a tenant with 100,000
// devices (imported in batches of 5,000; a third owned by the customer account), for
// the common queries of the devices page, with p50/p99 and, in the same run, raw
// single-row Postgres commits per second from as many connections.
func BenchmarkListDevices100k(b *testing.B) {
	env := suitetest.Start(b, productionLoops)
	seed := env.SeedLineItem(b, "list-co", 10)
	dev := devicepb.NewDeviceServiceClient(env.Dial(b, "device"))
	producer := env.As(b, suitetest.Producer("list-co"))
	for batch := range listBenchDevices / 5000 {
		var csv strings.Builder
		csv.WriteString("id_type,host_id,display_name,type,account,model\n")
		for i := batch * 5000; i < (batch+1)*5000; i++ {
			account := ""
			if i%3 == 0 {
				account = seed.AccountID
			}
			fmt.Fprintf(&csv, "ETHER,%012x,Unit %06d,STANDALONE,%s,M%d\n", i, i, account, i%20)
		}
		r, err := dev.ImportDevices(producer, &devicepb.ImportDevicesRequest{Csv: csv.String()})
		require.NoError(b, err)
		require.EqualValues(b, 5000, r.GetCreated()+r.GetUnchanged(), "%v", r.GetErrors())
	}
	conn, err := pgx.Connect(context.Background(), env.DatabaseURL)
	require.NoError(b, err)
	_, err = conn.Exec(context.Background(), `ANALYZE device.devices; ANALYZE device.device_line_items`)
	require.NoError(b, err)
	_ = conn.Close(context.Background())
	customer := &commonpb.Principal{
		Kind: commonpb.PrincipalKind_PRINCIPAL_KIND_USER, TenantId: "list-co", UserId: "u-bench",
		AccountIds: []string{seed.AccountID}, MemberAccountIds: []string{seed.AccountID}, Permissions: []string{string(authz.DevicesView)},
	}
	producerP := suitetest.Producer("list-co")
	queries := []struct {
		name string
		as   *commonpb.Principal
		req  *devicepb.ListDevicesRequest
	}{
		{"producer/first_page", producerP, &devicepb.ListDevicesRequest{PageSize: 50}},
		{"producer/standalone_active", producerP, &devicepb.ListDevicesRequest{PageSize: 50, Type: devicepb.DeviceType_DEVICE_TYPE_STANDALONE, Status: devicepb.DeviceStatus_DEVICE_STATUS_ACTIVE}},
		{"producer/by_name_desc", producerP, &devicepb.ListDevicesRequest{PageSize: 50, OrderBy: "display_name desc"}},
		{"producer/name_prefix", producerP, &devicepb.ListDevicesRequest{PageSize: 50, Filter: `display_name = "Unit 0421*"`}},
		{"producer/account", producerP, &devicepb.ListDevicesRequest{PageSize: 50, Filter: `account = "accounts/` + seed.AccountID + `"`}},
		{"customer/first_page", customer, &devicepb.ListDevicesRequest{PageSize: 50}},
	}
	for _, q := range queries {
		b.Run(q.name, func(b *testing.B) {
			ctx := env.As(b, q.as) // signed now: a principal lives two minutes
			b.ResetTimer()
			perSec, p50, p99 := runConcurrentPercentilesN(b, b.N, benchClients, func(int) error {
				r, err := dev.ListDevices(ctx, q.req)
				if err == nil && len(r.GetDevices()) == 0 {
					return fmt.Errorf("%s: no devices", q.name)
				}
				return err
			})
			b.StopTimer()
			commits := postgresCommitsPerSecond(b, env.DatabaseURL, benchClients)
			b.ReportMetric(perSec, "lists/s")
			b.ReportMetric(ms(p50), "p50_ms")
			b.ReportMetric(ms(p99), "p99_ms")
			b.ReportMetric(commits, "raw_pg_commits/s")
			b.ReportMetric(perSec/commits, "ratio_vs_pg_commits")
		})
	}
}
