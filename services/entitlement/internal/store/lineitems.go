package store

import (
	"context"
	"errors"
	"slices"
	"strconv"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	eventspb "github.com/tessera-dev/tessera/gen/tessera/events/v1"
	"github.com/tessera-dev/tessera/services/entitlement/internal/app"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/events"
	"github.com/tessera-dev/tessera/services/platform/filter"
)

var lineItemSchema = filter.Schema{
	"activation_id": {Column: "activation_id", Kind: filter.Text},
	"order_line":    {Column: "order_line", Kind: filter.Text},
	"product":       {Column: "product_id", Kind: filter.Exact, Collection: "products"},
	"account":       {Column: "account_id", Kind: filter.Exact, Collection: "accounts"},
	"entitlement":   {Column: "entitlement_id", Kind: filter.Exact, Collection: "entitlements"},
	"state": {Column: "state", Kind: filter.Exact, Values: map[string]string{
		"DRAFT": app.StateDraft, "DEPLOYED": app.StateDeployed, "ON_HOLD": app.StateOnHold, "OBSOLETE": app.StateObsolete,
	}},
	"type": {Column: "line_type", Kind: filter.Exact, Values: map[string]string{
		"STANDARD": app.LineStandard, "UPGRADE": app.LineUpgrade, "UPSELL": app.LineUpsell, "RENEWAL": app.LineRenewal,
		"MAINTENANCE": app.LineMaintenance, "SUBSCRIPTION": app.LineSubscription,
	}},
	"start_time":  {Column: "start_time", Kind: filter.Time},
	"expire_time": {Column: "expire_time", Kind: filter.Time},
	"create_time": {Column: "created_at", Kind: filter.Time},
	"attributes":  {Column: "attributes", Kind: filter.Attrs},
}

// ListLineItems lists a page of line items within scope. Unless includeSuperseded,
// only the newest line item of each chain is listed; every listed one carries the
// earlier ones of its chain, newest first.
func (s *Store) ListLineItems(ctx context.Context, tenant string, scope app.LineItemScope, q filter.Query, includeSuperseded bool) ([]app.LineItem, string, error) {
	plan, err := lineItemSchema.Plan(q, "activation_id", 8)
	if err != nil {
		return nil, "", err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+lineItemCols+`, `+plan.SortKey+` FROM line_items
		WHERE tenant_id = $1
		  AND ($2 OR account_id = ANY($3))
		  AND (cardinality($4::text[]) = 0 OR (SELECT p.product_line_id FROM products p WHERE p.tenant_id = line_items.tenant_id AND p.id = line_items.product_id) = ANY($4))
		  AND ($5 = '' OR entitlement_id = $5) AND ($6 = '' OR activation_id = $6)
		  AND ($7 OR NOT EXISTS (SELECT 1 FROM line_items n WHERE n.tenant_id = line_items.tenant_id AND n.supersedes = line_items.activation_id))
		  AND `+plan.Where+` ORDER BY `+plan.OrderBy+` LIMIT `+strconv.Itoa(plan.Limit),
		append([]any{
			tenant, scope.All || scope.EntitlementID != "" || scope.ActivationID != "", scope.AccountIDs, nonNilList(scope.ProductLines),
			scope.EntitlementID, scope.ActivationID, includeSuperseded,
		}, plan.Args...)...)
	if err != nil {
		return nil, "", err
	}
	out, next, err := filter.CollectPage(plan, rows, func(r pgx.CollectableRow, li *app.LineItem, key *string) error { return scanLineItemInto(r, li, key) },
		func(li app.LineItem) string { return li.ActivationID })
	if err != nil {
		return nil, "", err
	}
	heads := make([]string, len(out))
	for i, li := range out {
		heads[i] = li.ActivationID
	}
	chains, err := s.chains(ctx, tenant, heads)
	if err != nil {
		return nil, "", err
	}
	for i := range out {
		out[i].SupersededIDs = chains[out[i].ActivationID]
	}
	return out, next, nil
}

// chains returns, for each line item, the earlier line items of its chain, newest
// first.
func (s *Store) chains(ctx context.Context, tenant string, ids []string) (map[string][]string, error) {
	rows, err := s.pool.Query(ctx, `WITH RECURSIVE chain AS (
			SELECT activation_id AS head, supersedes AS prev, 1 AS depth FROM line_items
			WHERE tenant_id = $1 AND activation_id = ANY($2) AND supersedes IS NOT NULL
			UNION ALL
			SELECT c.head, l.supersedes, c.depth + 1 FROM chain c JOIN line_items l ON l.tenant_id = $1 AND l.activation_id = c.prev
			WHERE l.supersedes IS NOT NULL AND c.depth < 1000)
		SELECT head, prev FROM chain ORDER BY head, depth`, tenant, ids)
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	var head, prev string
	_, err = pgx.ForEachRow(rows, []any{&head, &prev}, func() error {
		out[head] = append(out[head], prev)
		return nil
	})
	return out, err
}

func nonNilList(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// RecordLineItemEmail writes the event that carries a line item email to the mailer.
func (s *Store) RecordLineItemEmail(ctx context.Context, tenant, activationID string, to []string, subject, text string) (uuid.UUID, error) {
	var id uuid.UUID
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		id, err = events.Write(ctx, tx, events.Subject("entitlement", "line_item", "emailed"), tenant, &eventspb.LineItemEmailed{
			ActivationId: activationID, To: to, Subject: subject, Text: text,
		})
		return err
	})
	return id, err
}

// TransferLineItem moves a deployed line item with no seats out to another account
// and puts it on hold, under its row lock, with the transferred event.
func (s *Store) TransferLineItem(ctx context.Context, tenant, activationID, toAccount string) (app.LineItem, error) {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		li, err := lockLineItem(ctx, tx, tenant, activationID)
		if err != nil {
			return err
		}
		if li.Fulfilled > 0 {
			return errs.FailedPrecondition("ACTIVE_FULFILLMENTS", "line item %s has %d seats out; return them before transferring", activationID, li.Fulfilled)
		}
		if li.State != app.StateDeployed {
			return errs.FailedPrecondition("LINE_ITEM_NOT_DEPLOYED", "line item %s is %s; only deployed line items are transferred", activationID, li.State)
		}
		if _, err := tx.Exec(ctx, `UPDATE line_items SET account_id = $3, state = 'on_hold', transfer_from = $4, updated_at = now()
			WHERE tenant_id = $1 AND activation_id = $2`, tenant, activationID, toAccount, li.AccountID); err != nil {
			return err
		}
		_, err = events.Write(ctx, tx, events.Subject("entitlement", "line_item", "transferred"), tenant, &eventspb.LineItemTransferred{
			ActivationId: activationID, FromAccountId: li.AccountID, ToAccountId: toAccount,
		})
		return err
	})
	if err != nil {
		return app.LineItem{}, err
	}
	return s.GetLineItem(ctx, tenant, activationID)
}

// stateVerbs name the events of state changes.
var stateVerbs = map[string]string{app.StateDeployed: "deployed", app.StateObsolete: "obsoleted"}

// SetLineItemState moves a line item from one of from to state under its row lock,
// with the line_item.deployed or line_item.obsoleted event; in state already, it
// changes nothing (and writes no event).
func (s *Store) SetLineItemState(ctx context.Context, tenant, activationID, state string, from []string) (app.LineItem, error) {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		li, err := lockLineItem(ctx, tx, tenant, activationID)
		if errs.IsKind(err, errs.KindNotFound) {
			return errs.NotFound("line item", activationID)
		}
		if err != nil {
			return err
		}
		if li.State == state {
			return nil
		}
		if !slices.Contains(from, li.State) {
			return errs.FailedPrecondition("LINE_ITEM_STATE", "line item %s is %s; it cannot become %s", activationID, li.State, state)
		}
		if _, err := tx.Exec(ctx, `UPDATE line_items SET state = $3, updated_at = now() WHERE tenant_id = $1 AND activation_id = $2`,
			tenant, activationID, state); err != nil {
			return err
		}
		_, err = events.Write(ctx, tx, events.Subject("entitlement", "line_item", stateVerbs[state]), tenant, &eventspb.LineItemStateChanged{
			ActivationId: activationID, FromState: li.State, ToState: state,
		})
		return err
	})
	if err != nil {
		return app.LineItem{}, err
	}
	return s.GetLineItem(ctx, tenant, activationID)
}

// DecideTransfer ends a transfer on hold: approved, the line item is deployed where
// it went; rejected, it goes back deployed to where it came from.
func (s *Store) DecideTransfer(ctx context.Context, tenant, activationID string, approve bool) (app.LineItem, error) {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		li, err := lockLineItem(ctx, tx, tenant, activationID)
		if errs.IsKind(err, errs.KindNotFound) {
			return errs.NotFound("line item", activationID)
		}
		if err != nil {
			return err
		}
		if li.TransferFrom == "" {
			return errs.FailedPrecondition("NO_TRANSFER", "line item %s awaits no transfer decision", activationID)
		}
		account, change := li.AccountID, "transfer_approved"
		if !approve {
			account, change = li.TransferFrom, "transfer_rejected"
		}
		if _, err := tx.Exec(ctx, `UPDATE line_items SET account_id = $3, state = 'deployed', transfer_from = NULL, updated_at = now()
			WHERE tenant_id = $1 AND activation_id = $2`, tenant, activationID, account); err != nil {
			return err
		}
		_, err = events.Write(ctx, tx, events.Subject("entitlement", "line_item", change), tenant, &eventspb.LineItemTransferred{
			ActivationId: activationID, FromAccountId: li.TransferFrom, ToAccountId: li.AccountID,
		})
		return err
	})
	if err != nil {
		return app.LineItem{}, err
	}
	return s.GetLineItem(ctx, tenant, activationID)
}

// SplitLineItem moves s.Quantity from a line item to the target account under the
// source's row lock: into a similar deployed line item of the target (pool), or as
// the fresh entitlement. A request ID seen before returns the first split's result.
func (s *Store) SplitLineItem(ctx context.Context, tenant string, sp app.Split, fresh app.Entitlement) (app.LineItem, app.LineItem, error) {
	var toID string
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT to_activation_id FROM line_item_splits WHERE tenant_id = $1 AND request_id = $2`, tenant, sp.RequestID).Scan(&toID); err == nil {
			return nil // done before
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		from, err := lockLineItem(ctx, tx, tenant, sp.ActivationID)
		if err != nil {
			return err
		}
		if from.State != app.StateDeployed {
			return errs.FailedPrecondition("LINE_ITEM_NOT_DEPLOYED", "line item %s is %s; only deployed line items are split", from.ActivationID, from.State)
		}
		if sp.Reservation != nil {
			r, err := s.reservationForUpdate(ctx, tx, tenant, *sp.Reservation)
			if err != nil {
				return err
			}
			if r.State != app.ReservationConfirmed || r.ActivationID != from.ActivationID || r.Quantity < sp.Quantity {
				return errs.FailedPrecondition("RESERVATION_NOT_MOVABLE", "reservation %s does not hold %d confirmed seats of line item %s", r.ID, sp.Quantity, from.ActivationID)
			}
		} else if unused := from.Quantity - from.Fulfilled; sp.Quantity > unused {
			return errs.FailedPrecondition("QUANTITY_EXCEEDED", "line item %s has %d unused seats, %d asked for", from.ActivationID, max(unused, 0), sp.Quantity)
		}
		if sp.Pool {
			err := tx.QueryRow(ctx, `SELECT activation_id FROM line_items WHERE tenant_id = $1 AND account_id = $2 AND product_id = $3 AND license_model_id = $4
				AND state = 'deployed' AND quantity > 0 AND start_time IS NOT DISTINCT FROM $5 AND expire_time IS NOT DISTINCT FROM $6
				ORDER BY created_at LIMIT 1 FOR UPDATE`, tenant, sp.ToAccount, from.ProductID, from.LicenseModelID, from.StartTime, from.ExpireTime).Scan(&toID)
			if errors.Is(err, pgx.ErrNoRows) {
				return errs.FailedPrecondition("NO_SIMILAR_LINE_ITEM", "%s has no deployed line item of %s with the same model and dates to pool into", sp.ToAccount, from.ProductID)
			}
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE line_items SET quantity = quantity + $3, updated_at = now() WHERE tenant_id = $1 AND activation_id = $2`, tenant, toID, sp.Quantity); err != nil {
				return err
			}
		} else {
			if _, err := insertEntitlement(ctx, tx, tenant, fresh); err != nil {
				return err
			}
			toID = fresh.LineItems[0].ActivationID
		}
		if sp.Reservation != nil {
			// The seats in use go along: the source gives them up with the quantity,
			// the target holds them under the new reservation.
			if _, err := tx.Exec(ctx, `UPDATE line_items SET quantity = quantity - $3, fulfilled = fulfilled - $3, updated_at = now() WHERE tenant_id = $1 AND activation_id = $2`,
				tenant, from.ActivationID, sp.Quantity); err != nil {
				return err
			}
			if err := addFulfilled(ctx, tx, tenant, toID, sp.Quantity); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE seat_reservations SET quantity = quantity - $3,
					state = CASE WHEN quantity = $3 THEN 'released' ELSE state END, updated_at = now()
				WHERE tenant_id = $1 AND id = $2`, tenant, *sp.Reservation, sp.Quantity); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO seat_reservations (tenant_id, id, activation_id, quantity, holder, state)
				SELECT tenant_id, $3, $4, $5, holder, 'confirmed' FROM seat_reservations WHERE tenant_id = $1 AND id = $2`,
				tenant, *sp.Reservation, *sp.NewReservation, toID, sp.Quantity); err != nil {
				return err
			}
		} else if _, err := tx.Exec(ctx, `UPDATE line_items SET quantity = quantity - $3, updated_at = now() WHERE tenant_id = $1 AND activation_id = $2`, tenant, from.ActivationID, sp.Quantity); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO line_item_splits (tenant_id, request_id, from_activation_id, to_activation_id, quantity) VALUES ($1, $2, $3, $4, $5)`,
			tenant, sp.RequestID, from.ActivationID, toID, sp.Quantity); err != nil {
			return err
		}
		_, err = events.Write(ctx, tx, events.Subject("entitlement", "line_item", "split"), tenant, &eventspb.LineItemSplit{
			FromActivationId: from.ActivationID, ToActivationId: toID, ToAccountId: sp.ToAccount, Quantity: sp.Quantity, ContactUserId: sp.ContactUserID,
		})
		return err
	})
	if err != nil {
		return app.LineItem{}, app.LineItem{}, err
	}
	from, err := s.GetLineItem(ctx, tenant, sp.ActivationID)
	if err != nil {
		return from, app.LineItem{}, err
	}
	to, err := s.GetLineItem(ctx, tenant, toID)
	return from, to, err
}
