package app

import (
	"context"
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	eventspb "github.com/tessera-dev/tessera/gen/tessera/events/v1"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/events"
	"github.com/tessera-dev/tessera/services/platform/filter"
)

// HistoryStore reads a device's history and the service's audit trail.
type HistoryStore interface {
	// ListDeviceHistory pages through the audit records of events about a device,
	// newest first.
	ListDeviceHistory(ctx context.Context, tenant, deviceID string, pageSize int, pageToken string) ([]HistoryRecord, string, error)
	ListAuditEvents(ctx context.Context, tenant string, q filter.Query) ([]events.AuditEvent, string, error)
}

// HistoryRecord is an audit record about a device, with the account and product of
// the line item it names (if any), for masking.
type HistoryRecord struct {
	EventID, ActorUserID, Subject, EventType, PayloadJSON string
	AccountID, ProductID                                  string
	Time                                                  time.Time
}

// History entry kinds (SPEC DEV-12).
const (
	KindCreated          = "created"
	KindUpdated          = "updated"
	KindOwnerChanged     = "owner_changed"
	KindLineItemMapped   = "line_item_mapped"
	KindLineItemUnmapped = "line_item_unmapped"
	KindOverrideExpired  = "override_expired"
	KindReturned         = "returned"
	KindMoved            = "moved"
	KindAdminPasswordSet = "admin_password_set"
)

// HistoryEntry is one line of a device's history as the caller may read it.
type HistoryEntry struct {
	Time        time.Time
	Kind        string
	ActorUserID string // empty: the system
	Description string
	// ActivationID is the line item the entry is about, masked as on the device.
	ActivationID string
	Masked       bool
	Quantity     int64
}

// ListDeviceHistory pages through a device's history, newest first, for a caller
// who sees the device; line items are masked (or left out) as on the device.
func (a *App) ListDeviceHistory(ctx context.Context, deviceID string, pageSize int, pageToken string) ([]HistoryEntry, string, error) {
	d, s, err := a.visibleDevice(ctx, deviceID)
	if err != nil {
		return nil, "", err
	}
	records, next, err := a.store.ListDeviceHistory(ctx, authz.MustTenant(ctx), deviceID, pageSize, pageToken)
	if err != nil {
		return nil, "", err
	}
	out := make([]HistoryEntry, 0, len(records))
	for _, r := range records {
		e, err := historyEntry(r, deviceID)
		if err != nil {
			return nil, "", err
		}
		if e.ActivationID != "" {
			m := Mapping{ActivationID: e.ActivationID, AccountID: r.AccountID, ProductID: r.ProductID}
			if !s.inLines(m) {
				continue // not even that the line item was here
			}
			if !s.showsLineItem(d, m) {
				e.ActivationID, e.Masked = MaskID(e.ActivationID), true
				e.Description = describeMasked(e)
			}
		}
		out = append(out, e)
	}
	return out, next, nil
}

// historyEntry reads an audit record into an entry of deviceID's history.
func historyEntry(r HistoryRecord, deviceID string) (HistoryEntry, error) {
	e := HistoryEntry{Time: r.Time, ActorUserID: r.ActorUserID, Kind: r.Subject[strings.LastIndexByte(r.Subject, '.')+1:]}
	var msg proto.Message
	switch e.Kind {
	case KindCreated:
		msg = &eventspb.DeviceCreated{}
	case KindUpdated:
		msg = &eventspb.DeviceUpdated{}
	case KindOwnerChanged:
		msg = &eventspb.DeviceOwnerChanged{}
	case KindLineItemMapped:
		msg = &eventspb.DeviceLineItemMapped{}
	case KindLineItemUnmapped:
		msg = &eventspb.DeviceLineItemUnmapped{}
	case KindReturned:
		msg = &eventspb.DeviceReturned{}
	case KindMoved:
		msg = &eventspb.DeviceMoved{}
	case KindAdminPasswordSet:
		msg = &eventspb.DeviceAdminPasswordSet{}
	default:
		e.Description = e.Kind
		return e, nil
	}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal([]byte(r.PayloadJSON), msg); err != nil {
		return e, fmt.Errorf("device history: event %s: %w", r.EventID, err)
	}
	switch m := msg.(type) {
	case *eventspb.DeviceCreated:
		e.Description = "created"
		if m.GetImported() {
			e.Description = "created by import"
		}
	case *eventspb.DeviceUpdated:
		e.Description = "changed: " + strings.Join(m.GetFields(), ", ")
		if m.GetStatus() != "" {
			e.Description += " (status " + m.GetStatus() + ")"
		}
	case *eventspb.DeviceOwnerChanged:
		e.Description = "owner changed (" + m.GetReason() + ")"
	case *eventspb.DeviceLineItemMapped:
		e.ActivationID, e.Quantity = m.GetActivationId(), m.GetQuantity()
		e.Description = fmt.Sprintf("%d of %s mapped", e.Quantity, e.ActivationID)
		if m.GetExpireTime() != nil {
			e.Description += ", expiring " + m.GetExpireTime().AsTime().UTC().Format(time.RFC3339)
		}
	case *eventspb.DeviceLineItemUnmapped:
		e.ActivationID, e.Quantity = m.GetActivationId(), m.GetQuantity()
		if m.GetReason() == KindOverrideExpired {
			e.Kind = KindOverrideExpired
		}
		e.Description = fmt.Sprintf("%d of %s unmapped (%s)", e.Quantity, e.ActivationID, m.GetReason())
	case *eventspb.DeviceReturned:
		switch {
		case m.GetDeviceId() != deviceID:
			e.Description = "received the seats of returned device " + m.GetDeviceId()
		case m.GetDestinationDeviceId() != "":
			e.Description = "returned; seats moved to device " + m.GetDestinationDeviceId()
		default:
			e.Description = "returned; seats given back"
		}
		if m.GetRmaNumber() != "" {
			e.Description += " (RMA " + m.GetRmaNumber() + ")"
		}
	case *eventspb.DeviceMoved:
		e.Description = fmt.Sprintf("moved to another account with %d line items", len(m.GetLineItems()))
	case *eventspb.DeviceAdminPasswordSet:
		e.Description = "administrator password set"
	}
	return e, nil
}

// describeMasked rewrites the description of an entry whose line item is masked:
// the description must not carry the unmasked ID.
func describeMasked(e HistoryEntry) string {
	switch e.Kind {
	case KindLineItemMapped:
		return fmt.Sprintf("%d of %s mapped", e.Quantity, e.ActivationID)
	default:
		return fmt.Sprintf("%d of %s unmapped", e.Quantity, e.ActivationID)
	}
}

// ListAuditEvents pages through the tenant's audit trail of device changes (SPEC
// PLT-4; producers: audit.view is producer-only).
func (a *App) ListAuditEvents(ctx context.Context, q filter.Query) ([]events.AuditEvent, string, error) {
	return a.store.ListAuditEvents(ctx, authz.MustTenant(ctx), q)
}
