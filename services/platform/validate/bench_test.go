package validate_test

import (
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	entitlementpb "github.com/tessera-dev/tessera/gen/tessera/entitlement/v1"
	"github.com/tessera-dev/tessera/services/platform/validate"
)

// BenchmarkMessage checks a 100-line order and reports its cost as a multiple of
// decoding the same request, which every request already pays (x_decode; about 1-3
// on the 2-core machine, both far below the transaction that stores the order).
func BenchmarkMessage(b *testing.B) {
	req := &entitlementpb.CreateOrderRequest{OrderId: "SO-1001", SoldTo: "accounts/ACME", ShipToEmails: []string{"ops@acme.example"}}
	for i := range 100 {
		req.Lines = append(req.Lines, &entitlementpb.OrderLine{
			LineNumber: fmt.Sprint(i + 1), Product: "products/cad", LicenseModel: "licenseModels/floating", Quantity: 10,
			Attributes: map[string]string{"region": "EMEA", "contract": "C-2026-0042"},
		})
	}
	wire, err := proto.Marshal(req)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	const decodes = 2000
	for range decodes {
		if err := proto.Unmarshal(wire, &entitlementpb.CreateOrderRequest{}); err != nil {
			b.Fatal(err)
		}
	}
	decode := time.Since(start) / decodes
	b.ResetTimer()
	for b.Loop() {
		if err := validate.Message(req); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed())/float64(b.N)/float64(decode), "x_decode")
}
