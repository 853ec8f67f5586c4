// The page's fixed elements and the state every module shares.

export const APP = "data_science";

const $ = (selector) => document.querySelector(selector);

export const els = {
  chat: $("#chat"), messages: $("#messages"), status: $("#status"), form: $("#composer"),
  input: $("#message-input"), send: $("#send-button"), file: $("#file-input"),
  newChat: $("#new-chat"), sessions: $("#sessions"), sessionList: $("#session-list"),
  toggleSessions: $("#toggle-sessions"), suggestions: $("#suggestions"), jobs: $("#jobs"),
  model: $("#model-status"), exportNotebook: $("#export-notebook"),
};

export const state = {
  userId: "",
  sessionId: "",
  busy: false,         // a turn is running: sending, switching and deleting wait for it
  opening: false,      // a chat is being opened or created: uploads wait for it
  authMode: "none",
  modelKind: "offline",
  sessions: [],        // the person's chats as the server lists them, newest first
};
