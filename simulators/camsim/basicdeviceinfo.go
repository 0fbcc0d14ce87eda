package camsim

// basicdeviceinfo.cgi (vapix.md section 3). Replies leave out "method", as recorded from
// AXIS OS 10.12 and 12.11.

// unrestrictedProperties may be read without authentication.
var unrestrictedProperties = map[string]bool{
	"Brand": true, "BuildDate": true, "HardwareID": true, "ProdFullName": true, "ProdNbr": true,
	"ProdShortName": true, "ProdType": true, "ProdVariant": true, "SerialNumber": true,
	"Version": true, "WebURL": true,
}

func (c *Camera) deviceProperties() map[string]string {
	m := c.id.Model
	var version, buildDate string
	c.view(func(st *State) { version, buildDate = st.Firmware.Version, st.Firmware.BuildDate })
	return map[string]string{
		"Architecture":    m.Architecture,
		"Brand":           "AXIS",
		"BuildDate":       buildDate,
		"HardwareID":      m.HardwareID,
		"ProdFullName":    m.ProdFullName,
		"ProdNbr":         m.ProdNbr,
		"ProdShortName":   m.ProdShortName(),
		"ProdType":        m.ProdType,
		"ProdVariant":     "",
		"SerialNumber":    c.id.Serial,
		"Soc":             m.Soc,
		"SocSerialNumber": socSerial(c.id.Serial),
		"Version":         version,
		"WebURL":          "https://www.axis.com",
	}
}

func (c *Camera) handleBasicDeviceInfo(q *request) {
	api := apiBasicDeviceInfo
	q.serveJSON(api, map[string]func(jsonRequest){
		"getAllUnrestrictedProperties": func(req jsonRequest) {
			props := c.deviceProperties()
			for k := range props {
				if !unrestrictedProperties[k] {
					delete(props, k)
				}
			}
			q.jsonData(api, req, map[string]any{"propertyList": props})
		},
		"getAllProperties": func(req jsonRequest) {
			if q.require(Viewer, true) {
				q.jsonData(api, req, map[string]any{"propertyList": c.deviceProperties()})
			}
		},
		"getProperties": func(req jsonRequest) {
			if !q.require(Viewer, true) {
				return
			}
			var p struct {
				PropertyList []string `json:"propertyList"`
			}
			if !q.params(api, req, &p) {
				return
			}
			if len(p.PropertyList) == 0 {
				q.jsonError(api, req, api.badParams, "Required parameter missing or invalid")
				return
			}
			all := c.deviceProperties()
			out := map[string]string{}
			for _, k := range p.PropertyList {
				v, ok := all[k]
				if !ok {
					q.jsonError(api, req, 1000, "Invalid parameter value")
					return
				}
				out[k] = v
			}
			q.jsonData(api, req, map[string]any{"propertyList": out})
		},
	})
}

// socSerial is a stable per-device SoC serial in the recorded form 4C711179-0101030D.
func socSerial(serial string) string {
	h := oakFor("soc:" + serial)
	b := []byte(h)
	out := make([]byte, 0, 17)
	for _, ch := range b {
		if ch == '-' {
			continue
		}
		out = append(out, "0123456789ABCDEF"[int(ch)%16])
	}
	return string(out[:8]) + "-" + string(out[8:12]) + "0101"
}
