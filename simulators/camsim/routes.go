package camsim

// route is one VAPIX path: the minimum privilege the web server enforces before the
// handler runs (Anonymous: the handler decides, as for APIs whose methods differ), and
// whether it is a JSON API (which changes how an under-privileged caller is refused).
type route struct {
	min    Privilege
	json   bool
	handle func(*Camera, *request)
}

// routes are every path the camera has; anything else is 404, as on a real device.
var routes = map[string]route{
	"/axis-cgi/basicdeviceinfo.cgi":    {Anonymous, true, (*Camera).handleBasicDeviceInfo},
	"/axis-cgi/apidiscovery.cgi":       {Viewer, true, (*Camera).handleAPIDiscovery},
	"/axis-cgi/param.cgi":              {Anonymous, false, (*Camera).handleParam},
	"/axis-cgi/admin/param.cgi":        {Anonymous, false, (*Camera).handleParam},
	"/axis-cgi/firmwaremanagement.cgi": {Admin, true, (*Camera).handleFirmwareManagement},
	"/axis-cgi/systemready.cgi":        {Anonymous, true, (*Camera).handleSystemReady},
	"/axis-cgi/pwdgrp.cgi":             {Admin, false, (*Camera).handlePwdgrp},
	"/axis-cgi/usergroup.cgi":          {Viewer, false, (*Camera).handleUserGroup},
	"/axis-cgi/oak.cgi":                {Admin, true, (*Camera).handleOAK},
	"/axis-cgi/restart.cgi":            {Admin, false, (*Camera).handleRestart},
	"/axis-cgi/systemlog.cgi":          {Admin, false, (*Camera).handleSystemLog},
	"/axis-cgi/admin/systemlog.cgi":    {Admin, false, (*Camera).handleSystemLog},

	"/axis-cgi/applications/list.cgi":             {Admin, false, (*Camera).handleAppList},
	"/axis-cgi/applications/upload.cgi":           {Admin, false, (*Camera).handleAppUpload},
	"/axis-cgi/applications/control.cgi":          {Admin, false, (*Camera).handleAppControl},
	"/axis-cgi/dynamicoverlay/dynamicoverlay.cgi": {Operator, true, (*Camera).handleDynamicOverlay},
	"/axis-cgi/com/ptz.cgi":                       {Anonymous, false, (*Camera).handlePTZ},
	"/axis-cgi/jpg/image.cgi":                     {Viewer, false, (*Camera).handleSnapshot},
	"/axis-cgi/mjpg/video.cgi":                    {Viewer, false, (*Camera).handleMJPEG},
	"/axis-cgi/audio/transmit.cgi":                {Operator, false, (*Camera).handleAudioTransmit},
	"/axis-cgi/wssession.cgi":                     {Viewer, false, (*Camera).handleWSSession},
	"/vapix/ws-data-stream":                       {Anonymous, false, (*Camera).handleEventStream},
	"/local/camsim/bulk":                          {Viewer, false, (*Camera).handleBulk},

	"/axis-cgi/streamprofile.cgi":     {Viewer, true, (*Camera).handleStreamProfile},
	"/axis-cgi/time.cgi":              {Viewer, true, (*Camera).handleTime},
	"/axis-cgi/ntp.cgi":               {Viewer, true, (*Camera).handleNTP},
	"/axis-cgi/mdnssd.cgi":            {Viewer, true, (*Camera).handleMdnssd},
	"/axis-cgi/network_settings.cgi":  {Viewer, true, (*Camera).handleNetworkSettings},
	"/axis-cgi/io/portmanagement.cgi": {Viewer, true, (*Camera).handleIOPorts},
	"/axis-cgi/viewarea/info.cgi":     {Viewer, true, (*Camera).handleViewArea},
	"/axis-cgi/record/list.cgi":       {Viewer, false, (*Camera).handleRecordList},
	"/axis-cgi/disks/list.cgi":        {Operator, false, (*Camera).handleDiskList},
}
