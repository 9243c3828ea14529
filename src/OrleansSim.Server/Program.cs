using OrleansSim.Server.Hosting;

return await SimulatorApp.RunAsync(args);
