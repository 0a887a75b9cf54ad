// cantina-demo: a stand-in for the droid's services, so that a fresh `up` shows
// a live bus. One Logger per simulated service (voice input, AI assistant, music,
// eye lights, mode manager), each logging at a gentle rate with the occasional
// warning and error. Runs until SIGINT/SIGTERM.
#include <array>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "cantina/bus/config.h"
#include "cantina/bus/logger.h"
#include "cantina/bus/shutdown.h"

namespace {

using cantina::bus::Level;

struct Line {
  Level level;
  const char* text;  // "{}" takes a number
};

struct SimulatedService {
  const char* id;
  std::vector<Line> lines;
};

const std::array<SimulatedService, 5>& simulated_services() {
  static const std::array<SimulatedService, 5> services = {{
      {"deepgram_direct_mic",
       {{Level::info, "Transcript received: \"play some cantina music\" (confidence 0.9{})"},
        {Level::info, "Microphone stream open, 16000 Hz mono, chunk {} ms"},
        {Level::debug, "Audio level -{} dBFS"},
        {Level::warning, "Deepgram websocket latency {} ms above target"},
        {Level::error, "Deepgram connection dropped, reconnecting (attempt {})"}}},
      {"gpt_service",
       {{Level::info, "Response generated in {} ms"},
        {Level::info, "Tool call: play_music(track=\"Cantina Band\", volume={})"},
        {Level::warning, "Conversation context trimmed to {} tokens"}}},
      {"music_controller",
       {{Level::info, "Now playing: Cantina Band (track {})"},
        {Level::info, "Volume set to {}%"},
        {Level::info, "Ducking music for speech, volume {}%"},
        {Level::warning, "Audio buffer underrun #{}"}}},
      {"eye_light_controller",
       {{Level::info, "Eye pattern: LISTENING, brightness {}"},
        {Level::info, "Eye pattern: SPEAKING, brightness {}"},
        {Level::debug, "Serial frame sent to Arduino, {} bytes"},
        {Level::error, "Arduino did not acknowledge frame {}; retrying"}}},
      {"yoda_mode_manager",
       {{Level::info, "Mode transition: IDLE -> AMBIENT ({} ms)"},
        {Level::info, "Mode transition: AMBIENT -> INTERACTIVE ({} ms)"},
        {Level::critical, "Mode transition timed out after {} ms; forcing IDLE"}}},
  }};
  return services;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path = cantina::bus::default_config_path();
  double rate = 2.0;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--config" && i + 1 < argc)
      config_path = argv[++i];
    else if (arg == "--rate" && i + 1 < argc)
      rate = std::stod(argv[++i]);
    else {
      std::cerr << "usage: cantina-demo [--config FILE] [--rate RECORDS_PER_SECOND]\n";
      return 2;
    }
  }
  if (!(rate > 0 && rate <= 100000)) {
    std::cerr << "cantina-demo: --rate must be between 0 and 100000\n";
    return 2;
  }
  const cantina::bus::Config config = cantina::bus::load_config_or_exit(config_path, "cantina-demo");

  cantina::bus::ShutdownSignals signals;
  zmq::context_t context(1);
  std::vector<std::unique_ptr<cantina::bus::Logger>> loggers;
  for (const auto& service : simulated_services()) {
    cantina::bus::LoggerOptions options = cantina::bus::logger_options(config.bus, service.id);
    options.logger_name = std::string("cantina_os.") + service.id;
    loggers.push_back(std::make_unique<cantina::bus::Logger>(context, options));
  }
  // One after the other, each sent a moment before the next is made: five Loggers'
  // records made at once reach the logging node in any order (each has its own
  // connection), so the session file would not read in time order.
  const auto one_by_one = [&loggers](const char* what) {
    for (auto& logger : loggers) logger->flush(std::chrono::seconds(5));  // what they hold, first
    for (auto& logger : loggers) {
      logger->info("{} {} (demo)", logger->service(), what);
      logger->flush(std::chrono::seconds(5));
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  };
  one_by_one("started");

  std::mt19937 random(std::random_device{}());
  const auto interval = std::chrono::milliseconds(static_cast<long>(1000.0 / rate));
  for (;;) {
    if (signals.wait_for(std::max(interval, std::chrono::milliseconds(1)))) break;
    const std::size_t which = random() % loggers.size();
    const auto& lines = simulated_services()[which].lines;
    // Warnings and errors are rarer than the rest.
    const Line* line = &lines[random() % lines.size()];
    if (line->level >= Level::warning && random() % 4 != 0) line = &lines[0];
    loggers[which]->log_format(line->level, fmt::runtime(line->text), random() % 100);
  }
  one_by_one("stopping");
  return 0;
}
