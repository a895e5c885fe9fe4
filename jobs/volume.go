package jobs

import (
	"fmt"

	"github.com/hashicorp/nomad/api"
	"github.com/vigil-backup/vigil/hcl/config"
)

// storageVolume is the name of a job's host volume for its local storage.
const storageVolume = "backups"

// checkLocalStorage refuses a local storage a task could only write into
// its own folder: the exec driver's chroot and a docker container are not
// the node's filesystem, and Nomad deletes them with the allocation. A
// backup "written" there would be recorded good and then lost.
func checkLocalStorage(id string, b *config.Backup, n config.Nomad) error {
	for _, s := range b.Destinations() {
		if s.Kind != config.StorageLocal || s.HostVolume != "" || n.Driver == config.DriverRawExec {
			continue
		}
		at := ""
		if s.RefPos != "" {
			at = s.RefPos + ": "
		}
		return fmt.Errorf("%sjobs: compile %s: %s (%s) would be written inside the %s task's own filesystem, which Nomad deletes with the allocation; "+
			"declare the folder as a host volume on the Nomad clients (client { host_volume \"backups\" { path = %q } }) and name it in the storage block: host_volume = \"backups\"",
			at, id, s.Ref(), s.Path, n.Driver, s.Path)
	}
	return nil
}

// mountStorage mounts a local storage's host volume at its path in the
// group's vigil task (read-only where the task only reads): the path the
// task writes is the node's folder.
func mountStorage(tg *api.TaskGroup, b *config.Backup, n config.Nomad, readOnly bool) {
	for i, s := range b.Destinations() {
		if s.Kind != config.StorageLocal || s.HostVolume == "" {
			continue
		}
		label := storageVolume
		if i > 0 {
			label += "-" + s.Name
		}
		mountVolume(tg, n, label, s.HostVolume, s.Path, readOnly)
	}
}

// mountVolumes mounts the nomad block's host volumes into the vigil task:
// a CA and client certificates the task reads under exec and docker.
func mountVolumes(tg *api.TaskGroup, n config.Nomad) {
	for _, m := range n.Mounts {
		mountVolume(tg, n, "mount-"+m.Volume, m.Volume, m.Path, m.ReadOnly)
	}
}

// mountVolume requests the host volume source under label and mounts it at
// path in the vigil task. The raw_exec driver sees the node's filesystem
// and mounts nothing; the volume still places the job on a node that has
// it.
func mountVolume(tg *api.TaskGroup, n config.Nomad, label, source, path string, readOnly bool) {
	if tg.Volumes == nil {
		tg.Volumes = map[string]*api.VolumeRequest{}
	}
	tg.Volumes[label] = &api.VolumeRequest{Name: label, Type: "host", Source: source, ReadOnly: readOnly}
	if n.Driver == config.DriverRawExec {
		return
	}
	for _, t := range tg.Tasks {
		if t.Name == "vigil" {
			t.VolumeMounts = append(t.VolumeMounts, &api.VolumeMount{Volume: ptr(label), Destination: ptr(path), ReadOnly: ptr(readOnly)})
		}
	}
}
