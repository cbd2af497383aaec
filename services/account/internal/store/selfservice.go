package store

import (
	"context"
	"errors"
	"slices"

	"github.com/jackc/pgx/v5"

	eventspb "github.com/tessera-dev/tessera/gen/tessera/events/v1"
	"github.com/tessera-dev/tessera/services/account/internal/app"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/events"
)

// CreateAccountWithUser stores a new account and its first user in one transaction.
// An existing account is AlreadyExists for resource "account"; a taken user name,
// for resource "user".
func (s *Store) CreateAccountWithUser(ctx context.Context, tenant string, acc app.Account, u app.User) (app.User, error) {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := insertAccount(ctx, tx, tenant, acc); err != nil {
			if e := errs.FromPostgres(err); e != nil && e.Kind == errs.KindAlreadyExists {
				return errs.AlreadyExists("account", acc.ID)
			}
			return err
		}
		if err := insertUser(ctx, tx, tenant, u); err != nil {
			if e := errs.FromPostgres(err); e != nil && e.Kind == errs.KindAlreadyExists {
				return errs.AlreadyExists("user", u.Username)
			}
			return err
		}
		return nil
	})
	if err != nil {
		return app.User{}, err
	}
	return s.GetUser(ctx, tenant, u.ID)
}

// CreateKeySession stores a session opened with an entitlement or activation ID.
func (s *Store) CreateKeySession(ctx context.Context, ks app.KeySession) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO key_sessions (id, tenant_id, token_hash, entitlement_id, activation_id, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, ks.ID, ks.TenantID, ks.Hash, ks.EntitlementID, ks.ActivationID, ks.ExpiresAt)
	return err
}

// KeySessionByHash finds a key session by its token's hash.
func (s *Store) KeySessionByHash(ctx context.Context, hash []byte) (app.KeySession, error) {
	ks := app.KeySession{Hash: hash}
	err := s.pool.QueryRow(ctx, `SELECT id, tenant_id, entitlement_id, activation_id, expires_at FROM key_sessions WHERE token_hash = $1`, hash).
		Scan(&ks.ID, &ks.TenantID, &ks.EntitlementID, &ks.ActivationID, &ks.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return ks, errs.NotFound("session", "")
	}
	return ks, err
}

// adminRoles are the administrator roles of each account type, and what an
// administrator who is replaced keeps instead.
var adminRoles = map[string]struct{ admin, member string }{
	app.AccountCustomer:       {authz.RoleCustomerAdmin.ID, authz.RoleCustomerUser.ID},
	app.AccountSelfRegistered: {authz.RoleCustomerAdmin.ID, authz.RoleCustomerUser.ID},
	app.AccountPartner:        {authz.RolePartnerAdmin.ID, authz.RoleCustomerUser.ID},
}

// ReplaceAdministrator makes userID the administrator of the account and the current
// administrators plain members, under a lock on the account's memberships; the event
// carries the reason into the audit trail, and the affected users' cached sessions are
// refreshed.
func (s *Store) ReplaceAdministrator(ctx context.Context, tenant, accountID, userID, reason string) ([]string, error) {
	var replaced []string
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var typ string
		err := tx.QueryRow(ctx, `SELECT account_type FROM accounts WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, tenant, accountID).Scan(&typ)
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.NotFound("account", accountID)
		}
		if err != nil {
			return err
		}
		roles, ok := adminRoles[typ]
		if !ok {
			return errs.FailedPrecondition("ACCOUNT_TYPE", "the producer account's administrators are managed as users")
		}
		rows, err := tx.Query(ctx, `SELECT user_id, roles FROM memberships WHERE tenant_id = $1 AND account_id = $2 FOR UPDATE`, tenant, accountID)
		if err != nil {
			return err
		}
		members := map[string][]string{}
		for rows.Next() {
			var id string
			var rs []string
			if err := rows.Scan(&id, &rs); err != nil {
				return err
			}
			members[id] = rs
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if _, ok := members[userID]; !ok {
			return errs.Invalid("user", "is not a member of account %s", accountID)
		}
		for id, rs := range members {
			next := slices.DeleteFunc(slices.Clone(rs), func(r string) bool { return r == roles.admin })
			if id == userID {
				next = append(slices.DeleteFunc(next, func(r string) bool { return r == roles.member }), roles.admin)
			} else if len(next) == len(rs) {
				continue // not an administrator
			} else {
				replaced = append(replaced, id)
				if len(next) == 0 {
					next = []string{roles.member}
				}
			}
			if _, err := tx.Exec(ctx, `UPDATE memberships SET roles = $4 WHERE tenant_id = $1 AND account_id = $2 AND user_id = $3`, tenant, accountID, id, next); err != nil {
				return err
			}
			if _, err := events.Write(ctx, tx, events.Subject("account", "token", "revoked"), tenant, &eventspb.TokenRevoked{UserId: id}); err != nil {
				return err
			}
		}
		slices.Sort(replaced)
		_, err = events.Write(ctx, tx, events.Subject("account", "account", "administrator_replaced"), tenant, &eventspb.AccountAdministratorReplaced{
			AccountId: accountID, UserId: userID, ReplacedUserIds: replaced, Reason: reason,
		})
		return err
	})
	return replaced, err
}
