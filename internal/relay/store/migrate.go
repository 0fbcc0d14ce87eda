package store

import (
	"bytes"

	bolt "go.etcd.io/bbolt"
)

// migrateDevicesV1 turns schema 1's devices (one record per serial, under SERIAL, with
// an org_devices index) into schema 2's (one record per organization, under
// orgID/SERIAL, with device_orgs and device_owners). A device an agent managed was
// taken over with its admin credentials or enrolled with its key: it is proven. Other
// records (registered, or claimed without an agent's proof) are not.
func migrateDevicesV1(tx *bolt.Tx) error {
	devices := tx.Bucket(bucketDevices)
	var old [][]byte
	if err := devices.ForEach(func(k, _ []byte) error {
		if !bytes.Contains(k, []byte("/")) {
			old = append(old, bytes.Clone(k))
		}
		return nil
	}); err != nil {
		return err
	}
	for _, k := range old {
		var d Device
		if err := decode(devices.Get(k), &d); err != nil {
			return err
		}
		if err := devices.Delete(k); err != nil {
			return err
		}
		if d.Deep() || d.Status == StatusOnboarded {
			d.Proven, d.ProvenAt = true, d.CreatedAt
			d.OAKVerified = d.AgentID != "" && len(d.OAKKey) > 0
		}
		if err := putDevice(tx, d); err != nil {
			return err
		}
	}
	if tx.Bucket([]byte("org_devices")) != nil {
		return tx.DeleteBucket([]byte("org_devices"))
	}
	return nil
}
