package events_test

import (
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/tessera-dev/tessera/services/platform/events"
)

// natsMsg rebuilds an event message as the relay sends it, under a fresh message ID.
func natsMsg(subject string, payload []byte, eventID, typ string) *nats.Msg {
	m := nats.NewMsg(subject)
	m.Data = payload
	m.Header.Set(nats.MsgIdHdr, uuid.NewString())
	m.Header.Set(events.HeaderEventID, eventID)
	m.Header.Set(events.HeaderEventType, typ)
	m.Header.Set(events.HeaderTenant, "t1")
	return m
}
