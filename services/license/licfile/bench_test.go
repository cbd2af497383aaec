package licfile

import (
	"crypto/ed25519"
	"crypto/rand"
	"testing"
	"time"
)

// BenchmarkGenerate renders and signs a two-feature license in both forms, and
// reports how close that comes to raw Ed25519 signing (three signatures per license:
// one per INCREMENT, one for the JSON form) on this machine.
func BenchmarkGenerate(b *testing.B) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer := Ed25519Signer{ID: "K1", Key: priv}
	spec := Spec{
		Vendor: "acme", Serial: "FUL-1", Features: []Feature{{"cad", "2.0"}, {"cam", "2.0"}}, Count: 3,
		Servers: []HostID{{Type: HostHostname, Value: "dogma"}}, Issued: time.Now(), Start: time.Now(),
	}
	msg := make([]byte, 300)
	rawStart := time.Now()
	const rawN = 2000
	for range rawN {
		ed25519.Sign(priv, msg)
	}
	rawPerSec := rawN / time.Since(rawStart).Seconds()
	b.ResetTimer()
	for b.Loop() {
		if _, err := Generate(spec, signer); err != nil {
			b.Fatal(err)
		}
	}
	perSec := float64(b.N) / b.Elapsed().Seconds()
	b.ReportMetric(perSec, "licenses/s")
	b.ReportMetric(rawPerSec, "raw_ed25519_signs/s")
	b.ReportMetric(3*perSec/rawPerSec, "ratio_vs_signs")
}
