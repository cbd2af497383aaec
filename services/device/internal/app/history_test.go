package app

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventspb "github.com/tessera-dev/tessera/gen/tessera/events/v1"
)

// TestHistoryEntries_DEV12: every device event reads as a history entry of its kind,
// with the line item and quantity it is about; an unmapping of an expired override
// is its own kind; a return shows on the receiving device too.
func TestHistoryEntries_DEV12(t *testing.T) {
	at := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		verb     string
		msg      proto.Message
		on       string
		kind     string
		desc     string
		lineItem string
		quantity int64
	}{
		{"created", &eventspb.DeviceCreated{DeviceId: "d", Imported: true}, "d", KindCreated, "created by import", "", 0},
		{"updated", &eventspb.DeviceUpdated{DeviceId: "d", Fields: []string{"notes", "status"}, Status: "obsolete"}, "d", KindUpdated, "changed: notes, status (status obsolete)", "", 0},
		{"owner_changed", &eventspb.DeviceOwnerChanged{DeviceId: "d", FromAccountId: "A", ToAccountId: "B", Reason: "claimed"}, "d", KindOwnerChanged, "owner changed (claimed)", "", 0},
		{"line_item_mapped", &eventspb.DeviceLineItemMapped{DeviceId: "d", ActivationId: "ACT-1", Quantity: 3, ExpireTime: timestamppb.New(at)}, "d", KindLineItemMapped, "3 of ACT-1 mapped, expiring 2026-12-04T10:00:00Z", "ACT-1", 3},
		{"line_item_unmapped", &eventspb.DeviceLineItemUnmapped{DeviceId: "d", ActivationId: "ACT-1", Quantity: 2, Reason: "unmapped"}, "d", KindLineItemUnmapped, "2 of ACT-1 unmapped (unmapped)", "ACT-1", 2},
		{"line_item_unmapped", &eventspb.DeviceLineItemUnmapped{DeviceId: "d", ActivationId: "ACT-1", Quantity: 1, Reason: "override_expired"}, "d", KindOverrideExpired, "1 of ACT-1 unmapped (override_expired)", "ACT-1", 1},
		{"returned", &eventspb.DeviceReturned{DeviceId: "d", RmaNumber: "RMA-9"}, "d", KindReturned, "returned; seats given back (RMA RMA-9)", "", 0},
		{"returned", &eventspb.DeviceReturned{DeviceId: "d", DestinationDeviceId: "e"}, "d", KindReturned, "returned; seats moved to device e", "", 0},
		{"returned", &eventspb.DeviceReturned{DeviceId: "d", DestinationDeviceId: "e"}, "e", KindReturned, "received the seats of returned device d", "", 0},
		{"moved", &eventspb.DeviceMoved{DeviceId: "d", LineItems: map[string]string{"ACT-1": "ACT-2"}}, "d", KindMoved, "moved to another account with 1 line items", "", 0},
		{"admin_password_set", &eventspb.DeviceAdminPasswordSet{DeviceId: "d"}, "d", KindAdminPasswordSet, "administrator password set", "", 0},
	}
	for _, c := range cases {
		payload, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(c.msg)
		require.NoError(t, err)
		e, err := historyEntry(HistoryRecord{EventID: "e1", ActorUserID: "U", Subject: "tessera.device.device." + c.verb, PayloadJSON: string(payload), Time: at}, c.on)
		require.NoError(t, err)
		require.Equal(t, HistoryEntry{Time: at, Kind: c.kind, ActorUserID: "U", Description: c.desc, ActivationID: c.lineItem, Quantity: c.quantity}, e, c.verb)
	}
	_, err := historyEntry(HistoryRecord{EventID: "bad", Subject: "tessera.device.device.created", PayloadJSON: "{"}, "d")
	require.Error(t, err, "a payload that does not read is an error, not an empty entry")
}
