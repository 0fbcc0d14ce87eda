package store

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A schema 1 database (devices under their serial alone) opens as schema 2: each device
// under its organization, an agent's devices proven, the others not.
func TestMigrateSchema1Devices(t *testing.T) {
	path := filepath.Join(t.TempDir(), "relay.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range append(allBuckets, []byte("org_devices")) {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		if err := tx.Bucket(bucketMeta).Put(keySchema, []byte("1")); err != nil {
			return err
		}
		for _, d := range []Device{
			{Serial: "ACCC8E000001", Org: "org_a", Status: StatusOnboarded, EdgeHost: "eh_a", CreatedAt: time.Now()},
			{Serial: "ACCC8E000002", Org: "org_b", Status: StatusRegistered, CreatedAt: time.Now()},
		} {
			raw, _ := json.Marshal(d)
			if err := tx.Bucket(bucketDevices).Put([]byte(d.Serial), raw); err != nil {
				return err
			}
			if err := tx.Bucket([]byte("org_devices")).Put(pair(d.Org, d.Serial), present); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.Check(ctx); err != nil {
		t.Fatalf("check after migration: %v", err)
	}
	if d, err := s.Device(ctx, "org_a", "ACCC8E000001"); err != nil || !d.Proven || d.EdgeHost != "eh_a" {
		t.Errorf("managed device after migration: %+v %v", d, err)
	}
	if d, err := s.Device(ctx, "org_b", "ACCC8E000002"); err != nil || d.Proven {
		t.Errorf("registered device after migration: %+v %v", d, err)
	}
	if owner, _ := s.DeviceOwner(ctx, "ACCC8E000002"); owner != "" {
		t.Errorf("a registration made an owner: %q", owner)
	}
}
