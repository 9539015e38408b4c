; Inno Setup 6 script: the Windows installer of voicedesk, from the one-folder build in dist\voicedesk.
;
;   python -m PyInstaller --noconfirm --clean --distpath dist --workpath build\pyinstaller packaging\voicedesk.spec
;   iscc /DAppVersion=0.1.0 packaging\windows\voicedesk.iss      -> dist\voicedesk-0.1.0-windows-x64-setup.exe
;
; Installs per user by default (no administrator prompt; "for all users" can be chosen), adds a Start
; menu entry (and, if ticked, a desktop icon), and an uninstaller. The microphone needs no declaration:
; Windows asks through Settings > Privacy > Microphone ("Let desktop apps access your microphone").
; Silent install, as CI does: setup.exe /VERYSILENT /SUPPRESSMSGBOXES /CURRENTUSER /DIR="C:\somewhere"

#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif
#define Root AddBackslash(SourcePath) + "..\.."

[Setup]
AppId={{6E3C2B8A-5B0F-4C7E-9A53-0D4B7F3A9C21}
AppName=voicedesk
AppVersion={#AppVersion}
AppVerName=voicedesk {#AppVersion}
AppPublisher=voicedesk developers
DefaultDirName={autopf}\voicedesk
DefaultGroupName=voicedesk
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir={#Root}\dist
OutputBaseFilename=voicedesk-{#AppVersion}-windows-x64-setup
; made by packaging\voicedesk.spec (packaging\icons.py) in the PyInstaller work dir
SetupIconFile={#Root}\build\pyinstaller\icons\voicedesk.ico
UninstallDisplayIcon={app}\voicedesk.exe
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
CloseApplications=yes

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#Root}\dist\voicedesk\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\voicedesk"; Filename: "{app}\voicedesk.exe"; Comment: "Talk with realtime speech models"
Name: "{autodesktop}\voicedesk"; Filename: "{app}\voicedesk.exe"; Tasks: desktopicon

[Run]
Filename: "{app}\voicedesk.exe"; Description: "{cm:LaunchProgram,voicedesk}"; Flags: nowait postinstall skipifsilent

; The uninstaller removes what it installed. Settings and the journal (the per-user app data dirs) and the key
; in Credential Manager belong to the person and stay.
