using OrleansSim.Ctl;

return await CtlApp.RunAsync(args);
