// The part of the `electron` module the shell uses. Every shell module takes it as a parameter instead of importing
// `electron`, so the shell's logic runs under plain Node in the tests with a stand-in (test/unit/shell-fakes.ts);
// only main.ts imports the real module.
import type * as ElectronModule from 'electron';

export type ShellElectron = Pick<
  typeof ElectronModule,
  'app' | 'BrowserWindow' | 'dialog' | 'ipcMain' | 'Menu' | 'nativeTheme' | 'protocol' | 'screen' | 'session' | 'shell'
>;

export type BrowserWindow = ElectronModule.BrowserWindow;
export type WebContents = ElectronModule.WebContents;
export type WebFrameMain = ElectronModule.WebFrameMain;
export type Session = ElectronModule.Session;
export type WebPreferences = ElectronModule.WebPreferences;
export type MenuItemConstructorOptions = ElectronModule.MenuItemConstructorOptions;
export type IpcMainInvokeEvent = ElectronModule.IpcMainInvokeEvent;
export type IpcMainEvent = ElectronModule.IpcMainEvent;
export type Rectangle = ElectronModule.Rectangle;
