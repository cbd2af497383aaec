package app

import (
	"testing"
	"time"

	"github.com/tessera-dev/tessera/services/platform/errs"
)

// Two different requests never share a fingerprint, whatever their activation IDs
// hold, so a request ID reused for another request is always told so (PLT-6).
func FuzzMapFingerprint(f *testing.F) {
	f.Add("LI-1", int64(1), int64(0), "LI-2", int64(2), int64(5))
	f.Add("a|1|;b", int64(1), int64(0), "c", int64(1), int64(0))
	f.Add("\x00", int64(-1), int64(1), "\"", int64(1<<62), int64(-5))
	f.Fuzz(func(t *testing.T, a string, qa, ea int64, b string, qb, eb int64) {
		at := func(us int64) time.Time {
			if us == 0 {
				return time.Time{}
			}
			return time.UnixMicro(us)
		}
		x := []MapItem{{ActivationID: a, Quantity: qa, ExpireAt: at(ea)}, {ActivationID: b, Quantity: qb, ExpireAt: at(eb)}}
		y := []MapItem{{ActivationID: a + b, Quantity: qa, ExpireAt: at(ea)}}
		z := []MapItem{{ActivationID: b, Quantity: qb, ExpireAt: at(eb)}, {ActivationID: a, Quantity: qa, ExpireAt: at(ea)}}
		if mapFingerprint(x) == mapFingerprint(y) {
			t.Fatalf("two items and one share a fingerprint: %q", mapFingerprint(x))
		}
		if (a != b || qa != qb || at(ea) != at(eb)) && mapFingerprint(x) == mapFingerprint(z) {
			t.Fatalf("reordered items share a fingerprint: %q", mapFingerprint(x))
		}
	})
}

// An override the check accepts lies after now and, for a line item that expires,
// before its expiry; the check never panics on any term or time.
func FuzzCheckOverride(f *testing.F) {
	f.Add(int64(3600), int64(86400), false, "", false)
	f.Add(int64(-5), int64(0), true, "10d", true)
	f.Add(int64(1<<40), int64(-1<<40), true, "1000Y 12000M", false)
	f.Add(int64(60), int64(60), false, "3Y 4M 3d 9h 6m", true)
	f.Fuzz(func(t *testing.T, overrideSec, expirySec int64, hasExpiry bool, term string, firstActivation bool) {
		now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
		const bound = int64(1) << 40
		if overrideSec > bound || overrideSec < -bound || expirySec > bound || expirySec < -bound {
			return
		}
		li := LineItem{StartAtFirstActivation: firstActivation, ExpireAfter: term}
		if hasExpiry {
			e := now.Add(time.Duration(expirySec) * time.Second)
			li.ExpireTime = &e
		}
		override := now.Add(time.Duration(overrideSec) * time.Second)
		var v errs.Violations
		checkOverride(&v, "expire_time", li, override, now)
		if v.Err() != nil {
			return
		}
		if !override.After(now) {
			t.Fatalf("accepted an override at or before now: %s", override)
		}
		if exp := configuredExpiry(li, now); exp != nil && !override.Before(*exp) {
			t.Fatalf("accepted %s, not before the configured expiry %s", override, *exp)
		}
	})
}
