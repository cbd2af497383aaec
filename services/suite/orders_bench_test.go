package suite_test

import (
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	entitlementpb "github.com/tessera-dev/tessera/gen/tessera/entitlement/v1"
	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

// BenchmarkOrderIngestion sends batches of new orders (10 lines each) over gRPC, two
// batches at a time, in batches of 100 and 1,000 lines, and reports line items/s
// beside the machine's raw single-row Postgres commits/s measured in the same run.
func BenchmarkOrderIngestion(b *testing.B) {
	for _, size := range []int{100, 1000} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			env := suitetest.Start(b, productionLoops)
			seed := env.SeedLineItem(b, "ingest-co", 1)
			ent := entitlementpb.NewEntitlementServiceClient(env.Dial(b, "entitlement"))
			cat := entitlementpb.NewCatalogServiceClient(env.Dial(b, "entitlement"))
			ctx := env.As(b, suitetest.Producer("ingest-co"))
			prod, err := cat.GetProduct(ctx, &entitlementpb.GetProductRequest{Name: "products/" + seed.ProductID})
			require.NoError(b, err)
			batch := func(n int) *entitlementpb.BatchCreateOrdersRequest {
				req := &entitlementpb.BatchCreateOrdersRequest{}
				for o := range size / 10 {
					order := &entitlementpb.CreateOrderRequest{OrderId: fmt.Sprintf("B%d-O%d", n, o), SoldTo: "accounts/" + seed.AccountID}
					for l := range 10 {
						order.Lines = append(order.Lines, &entitlementpb.OrderLine{
							LineNumber: fmt.Sprint(l), Product: prod.GetName(), LicenseModel: prod.GetLicenseModels()[0], Quantity: 5,
						})
					}
					req.Orders = append(req.Orders, order)
				}
				return req
			}
			b.ResetTimer()
			perSec, _, p99 := runConcurrentPercentilesN(b, b.N, 2, func(i int) error {
				_, err := ent.BatchCreateOrders(ctx, batch(i))
				return err
			})
			b.StopTimer()
			commits := postgresCommitsPerSecond(b, env.DatabaseURL, benchClients)
			lines := perSec * float64(size)
			b.ReportMetric(lines, "line_items/s")
			b.ReportMetric(ms(p99), "batch_p99_ms")
			b.ReportMetric(commits, "raw_pg_commits/s")
			b.ReportMetric(lines/commits, "line_items_per_raw_commit")
		})
	}
}

// BenchmarkReservations measures reserve+confirm pairs/s over gRPC with benchClients
// concurrent callers on one line item (the hottest row there can be), beside the
// machine's raw single-row Postgres commits/s in the same run.
func BenchmarkReservations(b *testing.B) {
	env := suitetest.Start(b, productionLoops)
	seed := env.SeedLineItem(b, "reserve-co", 1_000_000_000)
	ent := entitlementpb.NewEntitlementServiceClient(env.Dial(b, "entitlement"))
	ctx := env.As(b, suitetest.Service("reserve-co"))
	b.ResetTimer()
	perSec, _, p99 := runConcurrentPercentiles(b, b.N, func(int) error {
		id := uuid.NewString()
		if _, err := ent.ReserveSeats(ctx, &entitlementpb.ReserveSeatsRequest{ReservationId: id, ActivationId: seed.ActivationID, Quantity: 1, Holder: "bench"}); err != nil {
			return err
		}
		_, err := ent.ConfirmSeats(ctx, &entitlementpb.ConfirmSeatsRequest{ReservationId: id})
		return err
	})
	b.StopTimer()
	commits := postgresCommitsPerSecond(b, env.DatabaseURL, benchClients)
	b.ReportMetric(perSec, "pairs/s")
	b.ReportMetric(ms(p99), "pair_p99_ms")
	b.ReportMetric(commits, "raw_pg_commits/s")
	b.ReportMetric(2*perSec/commits, "ratio_commits_vs_raw")
}
