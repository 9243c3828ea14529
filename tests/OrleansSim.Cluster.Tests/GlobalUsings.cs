global using OrleansSim.Server.Tests.Infrastructure;
global using Xunit;
