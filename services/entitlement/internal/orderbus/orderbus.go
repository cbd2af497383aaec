// Package orderbus takes the orders that order systems publish on NATS (SPEC ENT-3)
// and answers each batch. It is a transport like grpcapi: the batch goes through the
// same BatchCreateOrders handler, so validation and idempotency are the same.
//
// An order system publishes a tessera.entitlement.v1.BatchCreateOrdersRequest to
// tessera.orders.in.<tenant> (protobuf; JSON with the header Content-Type:
// application/json), ideally with a Nats-Msg-Id. The answer, keyed by that ID (or
// the stream sequence), is an OrdersAccepted on tessera.orders.accepted.<tenant> or
// an OrdersRejected on tessera.orders.rejected.<tenant>. Batches are taken at least
// once and applied once: a redelivered batch changes nothing and is answered again.
// Who may publish is NATS's authorization to decide.
package orderbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	entitlementpb "github.com/tessera-dev/tessera/gen/tessera/entitlement/v1"
	eventspb "github.com/tessera-dev/tessera/gen/tessera/events/v1"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/events"
	"github.com/tessera-dev/tessera/services/platform/validate"
)

// Subject prefixes of the order bus.
const (
	SubjectIn       = "tessera.orders.in."
	SubjectAccepted = "tessera.orders.accepted."
	SubjectRejected = "tessera.orders.rejected."
)

// Ingester is the batch handler (the gRPC server's).
type Ingester interface {
	BatchCreateOrders(ctx context.Context, req *entitlementpb.BatchCreateOrdersRequest) (*entitlementpb.BatchCreateOrdersResponse, error)
}

// Tenants tells whether a tenant exists; orders for an unknown one are rejected.
type Tenants interface {
	TenantExists(ctx context.Context, tenant string) (bool, error)
}

// Run consumes order batches until ctx ends.
func Run(ctx context.Context, js jetstream.JetStream, in Ingester, tenants Tenants, log *slog.Logger) error {
	cons, err := js.CreateOrUpdateConsumer(ctx, events.StreamName, jetstream.ConsumerConfig{
		Durable: "entitlement-orders-in", FilterSubject: SubjectIn + "*",
		AckPolicy: jetstream.AckExplicitPolicy, AckWait: time.Minute, MaxDeliver: 50, DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return fmt.Errorf("orderbus: consumer: %w", err)
	}
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("orderbus: consumer: %w", err)
	}
	go func() {
		<-ctx.Done()
		it.Stop()
	}()
	for {
		msg, err := it.Next()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return nil
			}
			log.Warn("order bus receive failed", "err", err)
			continue
		}
		if err := handle(ctx, js, in, tenants, msg); err != nil {
			delivered := uint64(1)
			if md, mdErr := msg.Metadata(); mdErr == nil {
				delivered = md.NumDelivered
			}
			log.Warn("order batch failed; will redeliver", "subject", msg.Subject(), "delivery", delivered, "err", err)
			_ = msg.NakWithDelay(min(time.Duration(delivered*delivered)*200*time.Millisecond, time.Minute))
			continue
		}
		_ = msg.Ack()
	}
}

// handle applies one batch and publishes its answer; an error means "try again".
func handle(ctx context.Context, js jetstream.JetStream, in Ingester, tenants Tenants, msg jetstream.Msg) error {
	tenant := strings.TrimPrefix(msg.Subject(), SubjectIn)
	batch := msg.Headers().Get(nats.MsgIdHdr)
	if batch == "" {
		if md, err := msg.Metadata(); err == nil {
			batch = strconv.FormatUint(md.Sequence.Stream, 10)
		}
	}
	ctx = authz.ForTenant(ctx, tenant)
	reject := func(err error) error {
		return publish(ctx, js, SubjectRejected+tenant, rejection(batch, err))
	}
	// The bus is an API door like gRPC: the same string rule holds before anything
	// reaches the database (a NUL there would fail the batch on every redelivery).
	if p := validate.Problem(tenant, validate.Default); p != "" {
		return reject(errs.Invalid("subject", "the tenant %s", p))
	}
	exists, err := tenants.TenantExists(ctx, tenant)
	if err != nil {
		return err
	}
	if !exists {
		return reject(errs.NotFound("tenant", tenant))
	}
	req := &entitlementpb.BatchCreateOrdersRequest{}
	if strings.HasPrefix(msg.Headers().Get("Content-Type"), "application/json") {
		err = protojson.Unmarshal(msg.Data(), req)
	} else {
		err = proto.Unmarshal(msg.Data(), req)
	}
	if err != nil {
		return reject(errs.Invalid("body", "is not a BatchCreateOrdersRequest: %v", err))
	}
	if err := validate.Message(req); err != nil {
		return reject(err)
	}
	resp, err := in.BatchCreateOrders(ctx, req)
	if err != nil {
		if retryable(err) {
			return err
		}
		return reject(err)
	}
	ok := &eventspb.OrdersAccepted{BatchId: batch}
	for _, e := range resp.GetEntitlements() {
		ok.OrderIds = append(ok.OrderIds, e.GetOrderId())
		ok.EntitlementIds = append(ok.EntitlementIds, e.GetEntitlementId())
	}
	return publish(ctx, js, SubjectAccepted+tenant, ok)
}

// retryable errors are the ones a later delivery may get past.
func retryable(err error) bool {
	switch errs.Code(err) {
	case codes.Unavailable, codes.Internal, codes.Aborted, codes.DeadlineExceeded, codes.Unknown, codes.ResourceExhausted:
		return true
	}
	return false
}

func rejection(batch string, err error) *eventspb.OrdersRejected {
	st := errs.ToStatus(context.Background(), err)
	out := &eventspb.OrdersRejected{BatchId: batch, Code: code.Code(st.Code()).String(), Message: st.Message(), FieldViolations: map[string]string{}}
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			out.Reason = d.GetReason()
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				out.FieldViolations[v.GetField()] = v.GetDescription()
			}
		}
	}
	return out
}

func publish(ctx context.Context, js jetstream.JetStream, subject string, m proto.Message) error {
	body, err := proto.Marshal(m)
	if err != nil {
		return err
	}
	_, err = js.Publish(ctx, subject, body)
	return err
}
